//! The variables a step sees, layered with Octopus's precedence (lowest first): defaults the
//! engine knows (`Octopus.Release.Number`, ...), the step's OPD variables file, its decrypted
//! sensitive file, plan `variables`, the customer profile, the operator's answers, then values
//! the engine sets (`Octopus.Action.Name`, output variables, installation paths).
//!
//! It also knows which names are sensitive (secret parameters, sensitive Octopus variables,
//! sensitive output variables), so scripts get the flag and the scrubber gets the values.

use crate::answers::{Answer, Answers};
use crate::installed::Upgrade;
use crate::octopus::sensitive::{DropPassword, decrypt_file};
use crate::octopus::variables_file::{OctopusVariable, read_variables_file};
use crate::package::PackageName;
use crate::plan::{CustomerProfile, Plan, StepSpec};
use crate::secret::{Scrubber, Secret};
use crate::template::{self, Mode, Variables};
use std::path::Path;

/// The variable that carries the drop's sensitive-variables password (a secret parameter that
/// `dropship import` declares when the drop has `.secret` files).
pub const DROP_PASSWORD_PARAMETER: &str = "Drop.SensitiveVariablesPassword";

/// Why a step's variables could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum VariablesError {
    #[error(transparent)]
    File(#[from] crate::octopus::variables_file::VariablesFileError),
    #[error(transparent)]
    Sensitive(#[from] crate::octopus::sensitive::SensitiveFileError),
    #[error(
        "step `{step}` needs the drop's sensitive-variables password to read `{file}`; the plan must declare the secret parameter `{DROP_PASSWORD_PARAMETER}`"
    )]
    NoPassword { step: String, file: String },
}

/// An output variable a script set (`Octopus.Action[STEP].Output.NAME`).
#[derive(Debug, Clone)]
pub struct Output {
    pub step: String,
    pub name: String,
    pub value: String,
    pub sensitive: bool,
}

impl Output {
    pub fn full_name(&self) -> String {
        format!("Octopus.Action[{}].Output.{}", self.step, self.name)
    }
}

/// Everything but the step's own files: what every step shares.
#[derive(Debug, Clone)]
pub struct BaseVariables {
    defaults: Vec<(String, String)>,
    upper: Vec<(String, Option<String>)>,
    secret_names: Vec<String>,
    password: Option<Secret>,
    upgrade: Option<Upgrade>,
}

impl BaseVariables {
    /// Plan variables, profile, answers and the engine's defaults.
    pub fn new(plan: &Plan, profile: Option<&CustomerProfile>, answers: &Answers) -> Self {
        let product = plan.product();
        let defaults = vec![
            ("Octopus.Project.Name".to_string(), product.name.clone()),
            (
                "Octopus.Release.Number".to_string(),
                product.version.clone(),
            ),
            (
                "Octopus.Environment.Name".to_string(),
                profile.map_or("Production".into(), |p| p.name.clone()),
            ),
            ("Octopus.Machine.Name".to_string(), hostname()),
        ];
        let mut upper: Vec<(String, Option<String>)> = Vec::new();
        upper.extend(
            plan.document()
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone()))),
        );
        if let Some(profile) = profile {
            upper.extend(
                profile
                    .variables
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone()))),
            );
        }
        let mut secret_names = Vec::new();
        let mut password = None;
        for (name, answer) in answers.iter() {
            let value = match answer {
                Answer::Value(v) => v.clone(),
                Answer::Secret(s) => {
                    secret_names.push(name.to_string());
                    if name.eq_ignore_ascii_case(DROP_PASSWORD_PARAMETER) {
                        password = Some(s.clone());
                    }
                    s.expose_secret().to_string()
                }
            };
            upper.push((name.to_string(), Some(value)));
        }
        BaseVariables {
            defaults,
            upper,
            secret_names,
            password,
            upgrade: None,
        }
    }

    /// What this install follows: `Dropship.Upgrade.*` for every step, and for each package
    /// its previous installation's `Octopus.Tentacle.PreviousInstallation.*` (as Calamari sets
    /// them from its deployment journal, below the plan's variables).
    pub fn with_upgrade(mut self, upgrade: &Upgrade) -> Self {
        self.defaults.extend(upgrade.variables());
        self.upgrade = Some(upgrade.clone());
        self
    }

    /// What this install follows, when [`with_upgrade`](Self::with_upgrade) said.
    pub fn upgrade(&self) -> Option<&Upgrade> {
        self.upgrade.as_ref()
    }

    /// The previous installation of the package a `deploy-package` step deploys.
    fn previous_installation(&self, step: &StepSpec) -> Vec<(String, String)> {
        let (Some(upgrade), StepSpec::DeployPackage(deploy)) = (&self.upgrade, step) else {
            return Vec::new();
        };
        let id = PackageName::from_path(Path::new(&deploy.package))
            .map_or_else(|_| deploy.package.clone(), |name| name.id);
        upgrade.package_variables(&deploy.name, &id)
    }

    /// The variables for one step: its drop files beneath, the shared layers above, then the
    /// engine's own values (`extra`) and every output so far on top.
    pub fn for_step(
        &self,
        step: &StepSpec,
        drop_root: &Path,
        outputs: &[Output],
        extra: &[(String, String)],
    ) -> Result<StepVariables, VariablesError> {
        let common = step.common();
        let mut vars = Variables::new();
        let mut sensitive: Vec<String> = self.secret_names.clone();
        for (name, value) in self
            .defaults
            .iter()
            .chain(&self.previous_installation(step))
        {
            vars.set(name.clone(), Some(value.clone()));
        }
        if let Some(file) = common.variables_file {
            layer(
                &mut vars,
                &mut sensitive,
                &read_variables_file(&drop_root.join(file))?.variables,
            );
        }
        if let Some(file) = common.sensitive_variables_file {
            let password = self
                .password
                .as_ref()
                .ok_or_else(|| VariablesError::NoPassword {
                    step: common.name.to_string(),
                    file: file.to_string(),
                })?;
            let decrypted = decrypt_file(
                &drop_root.join(file),
                &DropPassword::new(password.expose_secret()),
            )?;
            layer(&mut vars, &mut sensitive, &decrypted.file.variables);
        }
        for (name, value) in &self.upper {
            vars.set(name.clone(), value.clone());
        }
        vars.set("Octopus.Action.Name", Some(common.name.to_string()));
        vars.set("Octopus.Step.Name", Some(common.name.to_string()));
        for (name, value) in extra {
            vars.set(name.clone(), Some(value.clone()));
        }
        for output in outputs {
            vars.set(output.full_name(), Some(output.value.clone()));
            if output.sensitive {
                sensitive.push(output.full_name());
            }
        }
        Ok(StepVariables { vars, sensitive })
    }

    /// The secret answers, for the scrubber.
    pub fn register_secrets(&self, answers: &Answers, scrubber: &mut Scrubber) {
        for secret in answers.secrets() {
            scrubber.add(secret);
        }
    }
}

fn layer(vars: &mut Variables, sensitive: &mut Vec<String>, variables: &[OctopusVariable]) {
    for variable in variables {
        vars.set(variable.name.clone(), variable.value.clone());
        if variable.sensitive {
            sensitive.push(variable.name.clone());
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// One step's variables.
#[derive(Debug, Clone)]
pub struct StepVariables {
    pub vars: Variables,
    sensitive: Vec<String>,
}

impl StepVariables {
    pub fn is_sensitive(&self, name: &str) -> bool {
        self.sensitive.iter().any(|s| s.eq_ignore_ascii_case(name))
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.set(name.to_string(), Some(value.to_string()));
    }

    /// Evaluate a template in Calamari's continue mode; a cycle is an error.
    pub fn evaluate(&self, text: &str) -> Result<String, template::TemplateError> {
        template::evaluate(text, &self.vars, Mode::Continue).map(|e| e.output.unwrap_or_default())
    }

    /// Evaluate, and on an error keep the text (used for labels and messages).
    pub fn expand(&self, text: &str) -> String {
        self.evaluate(text).unwrap_or_else(|_| text.to_string())
    }

    /// Whether the variable `name` is `True` (any case, blanks around ignored), as Calamari
    /// reads its boolean flags; missing or anything else is false.
    pub fn flag(&self, name: &str) -> bool {
        self.vars
            .get(name)
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
    }

    /// Whether a condition expression is truthy.
    pub fn truthy(&self, expression: &str) -> bool {
        template::evaluate_truthy(expression, &self.vars)
    }

    /// Every variable with its evaluated value, in order (later duplicates win).
    pub fn evaluated(&self) -> Vec<(String, String, bool)> {
        self.vars
            .iter()
            .map(|(name, _)| {
                (
                    name.to_string(),
                    self.vars.get(name).unwrap_or_default(),
                    self.is_sensitive(name),
                )
            })
            .collect()
    }

    /// The evaluated values of every sensitive variable, for the scrubber.
    pub fn register_sensitive(&self, scrubber: &mut Scrubber) {
        for (_, value, sensitive) in self.evaluated() {
            if sensitive {
                scrubber.add(&Secret::new(value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Answer;

    fn plan() -> Plan {
        Plan::parse(
            br##"{
              "schema": "dropship/plan@1",
              "product": { "name": "Fabrikam", "version": "4.12.0" },
              "parameters": [ { "name": "Db.Password", "type": "secret" }, { "name": "Port", "type": "port" } ],
              "variables": { "Conn": "Server=db;Password=#{Db.Password}", "Port": "1" , "Layer": "plan" },
              "steps": [ { "name": "Deploy", "type": "run-script", "inline": "x", "variables-file": "v.json" } ]
            }"##,
            "plan.json",
        )
        .unwrap()
    }

    #[test]
    fn precedence_lowest_first_and_sensitive_names() {
        let drop = tempfile::tempdir().unwrap();
        std::fs::write(
            drop.path().join("v.json"),
            r#"[{"k":"Layer","v":"drop","s":false},{"k":"Drop.Only","v":"d","s":false},{"k":"Api.Key","v":"k3y-from-drop","s":true}]"#,
        )
        .unwrap();
        let mut answers = Answers::default();
        answers.insert("Db.Password", Answer::Secret(Secret::new("s3cret-pw")));
        answers.insert("Port", Answer::Value("8443".into()));
        let plan = plan();
        let base = BaseVariables::new(&plan, None, &answers);
        let outputs = [Output {
            step: "Earlier".into(),
            name: "Token".into(),
            value: "t0ken".into(),
            sensitive: true,
        }];
        let vars = base
            .for_step(&plan.steps()[0], drop.path(), &outputs, &[])
            .unwrap();
        assert_eq!(vars.expand("#{Layer}"), "plan");
        assert_eq!(vars.expand("#{Drop.Only}"), "d");
        assert_eq!(
            vars.expand("#{Port}"),
            "8443",
            "answers beat plan variables"
        );
        assert_eq!(vars.expand("#{Conn}"), "Server=db;Password=s3cret-pw");
        assert_eq!(vars.expand("#{Octopus.Action.Name}"), "Deploy");
        assert_eq!(vars.expand("#{Octopus.Release.Number}"), "4.12.0");
        assert_eq!(
            vars.expand("#{Octopus.Action[Earlier].Output.Token}"),
            "t0ken"
        );
        assert!(vars.is_sensitive("db.password") && vars.is_sensitive("Api.Key"));
        assert!(vars.is_sensitive("Octopus.Action[Earlier].Output.Token"));
        let mut scrubber = Scrubber::new();
        vars.register_sensitive(&mut scrubber);
        assert_eq!(
            scrubber.scrub("k3y-from-drop s3cret-pw t0ken"),
            "******** ******** ********"
        );
    }

    #[test]
    fn a_sensitive_file_needs_the_drop_password() {
        let plan = Plan::parse(
            br#"{"schema":"dropship/plan@1","product":{"name":"P","version":"1"},
                "steps":[{"name":"S","type":"manual","instructions":"x","sensitive-variables-file":"s.secret"}]}"#,
            "plan.json",
        )
        .unwrap();
        let base = BaseVariables::new(&plan, None, &Answers::default());
        let err = base
            .for_step(&plan.steps()[0], Path::new("/nonexistent"), &[], &[])
            .unwrap_err();
        assert!(err.to_string().contains(DROP_PASSWORD_PARAMETER), "{err}");
    }
}
