use super::*;

const GOOD: &str = r##"{
  "schema": "dropship/plan@1",
  "product": { "name": "Fabrikam Platform", "version": "4.12.0", "vendor": "Fabrikam Ltd" },
  "roles": ["web", "worker", "db"],
  "parameters": [
    { "name": "Install.Root", "label": "Installation directory", "type": "path", "default": "/opt/fabrikam" },
    { "name": "Database.Password", "label": "Database password", "type": "secret", "confirm": true,
      "pattern": ".{12,}", "help": "At least 12 characters." },
    { "name": "Service.Port", "type": "port", "default": "8443" },
    { "name": "Edition", "type": "choice", "options": ["standard", "enterprise"] }
  ],
  "variables": { "Service.Host": "#{Octopus.Machine.Name | ToLower}.internal" },
  "steps": [
    { "name": "Preflight", "type": "check", "checks": [ { "disk-free": { "path": "#{Install.Root}", "min-mb": 2048 } } ] },
    { "name": "Deploy Web", "type": "deploy-package", "roles": ["web"], "package": "Packages/Fabrikam.Web.4.12.0.nupkg",
      "variables-file": "Variables/web.variables.json", "destination": "#{Install.Root}/web",
      "substitute": ["config/*.conf"], "structured": ["appsettings.json"] },
    { "name": "Migrate", "type": "run-script", "syntax": "bash", "file": "Scripts/Migrate.sh", "timeout-s": 600 },
    { "name": "Open firewall", "type": "manual", "instructions": "Open port #{Service.Port} to the web tier." },
    { "name": "Collect diagnostics", "type": "run-script", "condition": "failure", "inline": "echo diag" }
  ]
}"##;

fn problems_of(json: &str) -> Vec<String> {
    match Plan::parse(json.as_bytes(), "plan.json") {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_spec_sample_parses() {
    let plan = Plan::parse(GOOD.as_bytes(), "plan.json").unwrap();
    assert_eq!(plan.steps().len(), 5);
    assert_eq!(plan.steps()[1].type_name(), "deploy-package");
    assert_eq!(plan.steps()[2].common().timeout_s, Some(600));
}

#[test]
fn every_problem_is_reported_at_once_with_its_path() {
    let bad = r##"{
      "schema": "dropship/plan@1",
      "product": { "name": "P", "version": "1" },
      "roles": ["web"],
      "parameters": [
        { "name": "Db.Password", "type": "secret", "default": "hunter2" },
        { "name": "db.password", "type": "text" },
        { "name": "Port", "type": "port", "default": "99999" }
      ],
      "variables": { "X": "#{if}" },
      "steps": [
        { "name": "A", "type": "teleport" },
        { "name": "B", "type": "run-script", "inline": "x", "roles": ["db"] },
        { "name": "B", "type": "manual", "instructions": "ok" },
        { "name": "C", "type": "run-script", "inline": "x", "colour": "red" }
      ],
      "extra": 1
    }"##;
    let problems = problems_of(bad);
    let expect = [
        "extra: unknown field",
        "steps[0].type: unknown step type `teleport`",
        "parameters[0].default: a `secret` parameter cannot have a default",
        "steps[2]: duplicate step name `B`",
        "steps[3].colour: unknown field `colour`",
    ];
    for needle in expect {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "missing `{needle}` in {problems:#?}"
        );
    }
}

#[test]
fn semantic_problems_are_all_reported() {
    let bad = r##"{
      "schema": "dropship/plan@2",
      "product": { "name": "P", "version": "1" },
      "roles": ["web"],
      "parameters": [
        { "name": "Db.Password", "type": "secret", "default": "hunter2" },
        { "name": "db.password", "type": "text" },
        { "name": "Port", "type": "port", "default": "99999" },
        { "name": "Pick", "type": "choice" }
      ],
      "variables": { "X": "#{foo$}", "Db.Password": "leak" },
      "steps": [
        { "name": "B", "type": "run-script", "inline": "x", "roles": ["db"] },
        { "name": "B", "type": "manual", "instructions": "ok" },
        { "name": "D", "type": "run-script", "condition": "#{bar$}", "inline": "y", "file": "z.sh" }
      ]
    }"##;
    let problems = problems_of(bad);
    for needle in [
        "schema: must be \"dropship/plan@1\"",
        "parameters[0].default: a `secret` parameter cannot have a default",
        "parameters[1]: duplicate parameter `db.password`",
        "parameters[2].default: `99999` is not a port number",
        "parameters[3].options: a `choice` needs `options`",
        "variables.Db.Password: `Db.Password` is a secret parameter",
        "variables.X: template does not parse",
        "steps[0].roles[0]: role `db` is not declared",
        "steps[1]: duplicate step name `B`",
        "steps[2].condition: template does not parse",
        "steps[2]: give `inline` or `file`, not both",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(needle)),
            "missing `{needle}` in {problems:#?}"
        );
    }
}

#[test]
fn not_json_names_line_and_column() {
    let problems = problems_of("{\n  \"schema\": ,\n}");
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("line 2"), "{problems:?}");
}

#[test]
fn profile_cannot_set_a_secret_or_use_undeclared_roles() {
    let plan = Plan::parse(GOOD.as_bytes(), "plan.json").unwrap();
    let profile = parse_profile(
        br#"{"name":"Contoso","variables":{"database.password":"x"},"roles":["cache"]}"#,
        "c.json",
    )
    .unwrap();
    let problems: Vec<String> = plan
        .check_profile(&profile)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(parse_profile(br#"{"name":"C","colour":1}"#, "c.json").is_err());
}

#[test]
fn drop_references_must_exist_and_secrets_have_no_drop_value() {
    let plan = Plan::parse(GOOD.as_bytes(), "plan.json").unwrap();
    let drop = tempfile::tempdir().unwrap();
    let problems: Vec<String> = plan
        .check_drop(&DropFolder(drop.path()))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        problems.iter().any(|p| p.starts_with("steps[1].package")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("steps[2].file")),
        "{problems:?}"
    );

    for file in ["Packages/Fabrikam.Web.4.12.0.nupkg", "Scripts/Migrate.sh"] {
        let path = drop.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x").unwrap();
    }
    std::fs::create_dir_all(drop.path().join("Variables")).unwrap();
    std::fs::write(
        drop.path().join("Variables/web.variables.json"),
        r#"{"Database.Password":"vendor-knows"}"#,
    )
    .unwrap();
    let problems: Vec<String> = plan
        .check_drop(&DropFolder(drop.path()))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("vendor-blind"), "{problems:?}");
}

/// The schema published for editors (`schema/plan.schema.json`, which `dropship plan schema`
/// prints) is the one the plan types generate. `DROPSHIP_BLESS=1` rewrites it.
#[cfg(feature = "schema")]
#[test]
fn published_plan_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/plan.schema.json");
    let generated = serde_json::to_string_pretty(&schemars::schema_for!(PlanDocument)).unwrap();
    if std::env::var_os("DROPSHIP_BLESS").is_some() {
        std::fs::write(&path, format!("{generated}\n")).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        published.trim_end(),
        generated,
        "schema/plan.schema.json is stale: run `DROPSHIP_BLESS=1 cargo test -p dropship-runtime --features schema published_plan_schema`"
    );
}

/// A plan with `extra` spliced in at the top level and one step.
fn plan_with(extra: &str) -> String {
    format!(
        r#"{{"schema":"dropship/plan@1","product":{{"name":"P","version":"1"}},{extra}
            "steps":[{{"name":"S","type":"manual","instructions":"x"}}]}}"#
    )
}

#[test]
fn variables_that_cycle_or_blow_up_are_refused_with_their_path() {
    let mut variables = vec![r#""E0":"x""#.to_string()];
    variables.extend((1..=40).map(|i| format!(r##""E{i}":"#{{E{0}}}#{{E{0}}}""##, i - 1)));
    variables.push(r##""Loop":"#{Back}","Back":"#{Loop}""##.to_string());
    let json = plan_with(&format!(
        r##""parameters":[{{"name":"Greeting","type":"text","default":"#{{Greeting}}!"}}],
           "variables":{{{}}},"##,
        variables.join(",")
    ));
    let clock = std::time::Instant::now();
    let problems = problems_of(&json);
    // Bounded, not fast: an exponential blow-up would not end; a debug build under wine on
    // a busy 2-core machine took 65 s.
    assert!(
        clock.elapsed().as_secs() < 300,
        "took {:?}",
        clock.elapsed()
    );
    let blown = |p: &&String| p.starts_with("variables.E") && p.contains("evaluation steps");
    // A value past the limit is blamed; most above it reuse its failure instead of redoing it.
    let count = problems.iter().filter(blown).count();
    assert!((1..=3).contains(&count), "{problems:#?}");
    let cycle = |path: &str| {
        problems
            .iter()
            .any(|p| p.starts_with(path) && p.contains("self referencing loop"))
    };
    assert!(
        cycle("variables.Back") && cycle("parameters[0].default"),
        "{problems:#?}"
    );
    let fine = plan_with(r##""variables":{"A":"#{B}#{B}","B":"b"},"##);
    assert!(problems_of(&fine).is_empty());
}

#[test]
fn plans_past_the_size_limits_are_refused_before_parsing_their_entries() {
    let oversized = format!("{}{}", plan_with(""), " ".repeat(MAX_PLAN_BYTES));
    let problems = problems_of(&oversized);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("$: the plan file has more than") && problems[0].contains("16 MiB")
    );

    let step = r#"{"name":"S","type":"manual","instructions":"x"}"#;
    let steps = vec![step; MAX_STEPS + 1].join(",");
    let json = format!(
        r#"{{"schema":"dropship/plan@1","product":{{"name":"P","version":"1"}},"steps":[{steps}]}}"#
    );
    // Each step has the same name: parsing them would report 10,000 duplicates instead.
    assert_eq!(
        problems_of(&json),
        [
            "steps: has 10001 entries; a plan may have at most 10000: split the product into several plans"
        ]
    );
    let parameters: Vec<String> = (0..=MAX_PARAMETERS)
        .map(|i| format!(r#"{{"name":"P{i}"}}"#))
        .collect();
    let json = plan_with(&format!(r#""parameters":[{}],"#, parameters.join(",")));
    assert!(problems_of(&json)[0].starts_with("parameters: has 1001 entries"));
    let variables = |n: usize| -> String {
        let entries: Vec<String> = (0..n).map(|i| format!(r#""V{i}":"v""#)).collect();
        plan_with(&format!(r#""variables":{{{}}},"#, entries.join(",")))
    };
    let problems = problems_of(&variables(MAX_VARIABLES + 1));
    assert!(problems[0].starts_with("variables: has 10001 entries"));
    assert!(problems_of(&variables(MAX_VARIABLES)).is_empty());
}

#[test]
fn profile_variables_that_cycle_or_blow_up_are_refused_too() {
    let plan = Plan::parse(
        plan_with(r##""variables":{"Base":"#{Site}","Site":"plain"},"##).as_bytes(),
        "plan.json",
    )
    .unwrap();
    let mut profile = CustomerProfile {
        name: "Contoso".into(),
        variables: Default::default(),
        roles: vec![],
    };
    profile.variables.insert("Site".into(), "#{Base}".into());
    profile.variables.insert("D0".into(), "y".into());
    for i in 1..=30 {
        let value = format!("#{{D{0}}}#{{D{0}}}", i - 1);
        profile.variables.insert(format!("D{i}"), value);
    }
    let problems: Vec<String> = plan
        .check_profile(&profile)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("variables.Site") && p.contains("self referencing")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("variables.D") && p.contains("evaluation steps")),
        "{problems:#?}"
    );
    profile.variables.retain(|name, _| name == "D0");
    assert!(plan.check_profile(&profile).is_empty());
}

/// A plan whose first step is `step` (JSON), beside a good one.
fn plan_with_step(step: &str) -> String {
    format!(
        r#"{{"schema":"dropship/plan@1","product":{{"name":"P","version":"1.0.0"}},
            "steps":[{{"name":"Good","type":"manual","instructions":"x"}},{step}]}}"#
    )
}

/// Broken steps, each with the path its problem must have.
const BROKEN_STEPS: &[(&str, &str)] = &[
    (
        r#"{"name":"S","type":"run-script","inline":"x","timeout-s":"ten"}"#,
        "steps[1].timeout-s",
    ),
    (
        r#"{"name":"S","type":"run-script","inline":"x","timeout-s":-1}"#,
        "steps[1].timeout-s",
    ),
    (
        r#"{"name":"S","type":"run-script","inline":"x","retries":1.5}"#,
        "steps[1].retries",
    ),
    (
        r#"{"name":"S","type":"run-script","inline":"x","rollback":"echo"}"#,
        "steps[1].rollback",
    ),
    (
        r#"{"name":"S","type":"run-script","inline":"x","rollback":{"inline":3}}"#,
        "steps[1].rollback.inline",
    ),
    (
        r#"{"name":"S","type":"run-script","inline":"x","roles":"web"}"#,
        "steps[1].roles",
    ),
    (
        r#"{"name":"S","type":"deploy-package","package":"p","scripts":[]}"#,
        "steps[1].scripts",
    ),
    (
        r#"{"name":"S","type":"deploy-package","package":"p","scripts":{"Deploy":"x"}}"#,
        "steps[1].scripts.Deploy",
    ),
    (
        r#"{"name":"S","type":"deploy-package","package":"p","config-files":[{"path":"a","on-upgrade":"merge-ish"}]}"#,
        "steps[1].config-files[0].on-upgrade",
    ),
    (
        r#"{"name":"S","type":"deploy-package","package":"p","config-files":[{"path":"a","on-upgrade":3}]}"#,
        "steps[1].config-files[0].on-upgrade",
    ),
    (
        r#"{"name":"S","type":"deploy-package","package":"p","purge":"yes"}"#,
        "steps[1].purge",
    ),
    (
        r#"{"name":"S","type":"deploy-package","package":"p","packages":[{"name":"a"}]}"#,
        "steps[1].packages[0]",
    ),
    (
        r#"{"name":"S","type":"check","checks":["os"]}"#,
        "steps[1].checks[0].os",
    ),
    (
        r#"{"name":"S","type":"check","checks":["disk-free"]}"#,
        "steps[1].checks[0].disk-free",
    ),
    (
        r#"{"name":"S","type":"check","checks":[3]}"#,
        "steps[1].checks[0]",
    ),
    (
        r#"{"name":"S","type":"check","checks":[null]}"#,
        "steps[1].checks[0]",
    ),
    (
        r#"{"name":"S","type":"check","checks":[{"os":"linux"}]}"#,
        "steps[1].checks[0].os",
    ),
    (
        r#"{"name":"S","type":"check","checks":[{"root":"yes"}]}"#,
        "steps[1].checks[0].root",
    ),
    (
        r#"{"name":"S","type":"check","checks":[{"teleport":1}]}"#,
        "steps[1].checks[0]",
    ),
    (
        r#"{"name":"S","type":"check","checks":[{"disk-free":{"path":"/"}}]}"#,
        "steps[1].checks[0].disk-free",
    ),
    (
        r#"{"name":"S","type":"check","checks":[{"disk-free":[1]}]}"#,
        "steps[1].checks[0].disk-free",
    ),
    (
        r#"{"name":"S","type":"check","checks":[{"os":["linux"],"arch":["x"]}]}"#,
        "steps[1].checks[0]",
    ),
    (
        r#"{"name":"S","type":"check","checks":{}}"#,
        "steps[1].checks",
    ),
    (
        r#"{"name":"S","type":"http-wait","url":"u","status":70000}"#,
        "steps[1].status",
    ),
    (
        r#"{"name":"S","type":"manual","instructions":null}"#,
        "steps[1].instructions",
    ),
    (r#"{"name":"S","type":"teleport"}"#, "steps[1].type"),
    (r#"{"name":"S"}"#, "steps[1].type"),
    (r#"{"name":"S","type":3}"#, "steps[1].type"),
    (r#""step""#, "steps[1]"),
    (
        r#"{"name":5,"type":"manual","instructions":"x"}"#,
        "steps[1].name",
    ),
    (
        r#"{"name":"S","type":"manual","instructions":"x","colour":"red"}"#,
        "steps[1].colour",
    ),
];

/// Broken plans: top-level fields and parameters.
const BROKEN_PLANS: &[&str] = &[
    r#"{"schema":"dropship/plan@1","product":"P","steps":[]}"#,
    r#"{"schema":1,"product":{"name":"P","version":"1.0.0","x":1},"steps":{}}"#,
    r#"{"schema":"dropship/plan@1","product":{"name":"P","version":"1.0.0"},"parameters":[{"name":"A","type":"colour"},{"name":"B"},{"name":"C","type":"text","required":"yes"},{"name":"D","type":1},3],"variables":[],"roles":{},"upgrade":"x","steps":[]}"#,
    r#"{"schema":"dropship/plan@1","product":{"name":"P","version":"1.0.0"},"variables":{"A":1},"roles":[1],"upgrade":{"from":2},"steps":"x"}"#,
    r#"{"schema":null,"product":null,"steps":null,"parameters":{}}"#,
    r#"[]"#,
    r#"{"#,
];

#[test]
fn problems_name_the_field_and_no_rust_type() {
    let mut messages = Vec::new();
    for (step, path) in BROKEN_STEPS {
        let problems = problems_of(&plan_with_step(step));
        assert!(
            problems.iter().any(|p| p.starts_with(&format!("{path}: "))),
            "{step}: no problem at `{path}` in {problems:#?}"
        );
        messages.extend(problems);
    }
    for plan in BROKEN_PLANS {
        let problems = problems_of(plan);
        assert!(!problems.is_empty(), "{plan}");
        messages.extend(problems);
    }
    let profile = parse_profile(br#"{"name":1,"variables":[],"roles":"x"}"#, "c.json");
    messages.extend(
        profile
            .unwrap_err()
            .problems
            .iter()
            .map(ToString::to_string),
    );
    for message in &messages {
        for leak in [
            "struct ", "enum ", "variant ", "::", "u64", "u16", "sequence",
        ] {
            assert!(!message.contains(leak), "`{leak}` in `{message}`");
        }
    }
}

#[test]
fn parse_semantic_and_drop_problems_come_together_with_the_file_indices() {
    let plan = r##"{
      "schema": "dropship/plan@1",
      "product": { "name": "P", "version": "1.0.0" },
      "parameters": [
        { "name": "Bad", "type": "colour" },
        { "name": "Db.Password", "type": "secret", "default": "hunter2" }
      ],
      "steps": [
        { "name": "A", "type": "manual", "instructions": "x" },
        { "name": "B", "type": "teleport" },
        { "name": "C", "type": "run-script", "inline": "x", "timeout-s": "ten" },
        { "name": "A", "type": "run-script", "file": "Scripts/missing.sh" }
      ]
    }"##;
    let drop = tempfile::tempdir().unwrap();
    let problems: Vec<String> =
        Plan::parse_with_drop(plan.as_bytes(), "plan.json", Some(&DropFolder(drop.path())))
            .unwrap_err()
            .problems
            .iter()
            .map(ToString::to_string)
            .collect();
    for needle in [
        "parameters[0].type: unknown value `colour`",
        "parameters[1].default: a `secret` parameter cannot have a default",
        "steps[1].type: unknown step type `teleport`",
        "steps[2].timeout-s: invalid type",
        "steps[3]: duplicate step name `A`",
        "steps[3].file: `Scripts/missing.sh` is not in the drop",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(needle)),
            "missing `{needle}` in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), 6, "{problems:#?}");
}

#[test]
fn steps_that_all_fail_to_parse_are_not_also_no_steps() {
    let plan = r#"{"schema":"dropship/plan@1","product":{"name":"P","version":"1.0.0"},
        "steps":[{"name":"A","type":"teleport"}]}"#;
    assert_eq!(
        problems_of(plan),
        [
            "steps[0].type: unknown step type `teleport`; use one of check, deploy-package, \
          run-script, manual, substitute, http-wait"
        ]
    );
}
