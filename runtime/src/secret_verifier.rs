//! Verifiers of an install's secrets, so that `resume` refuses a secret different from the one
//! the interrupted install already wrote into the target (one install, one set of secrets).
//!
//! A verifier is an Argon2id hash with a random salt, in PHC string form: slow and salted, so the
//! state directory (`0600` files in a `0700` directory) never holds the secret nor anything
//! cheap to guess it from. The parameters are OWASP's minimum for Argon2id.

use crate::answers::{Answer, Answers};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::BTreeMap;

/// Memory per hash, in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over the memory.
pub const PASSES: u32 = 2;

/// Each secret's verifier, by parameter name.
pub type Verifiers = BTreeMap<String, String>;

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A verifier of every secret answer.
pub fn verifiers(answers: &Answers) -> Result<Verifiers, String> {
    let hasher = hasher();
    let mut verifiers = Verifiers::new();
    for (name, answer) in answers.iter() {
        if let Answer::Secret(secret) = answer {
            let hash = hasher
                .hash_password(secret.expose_secret().as_bytes())
                .map_err(|e| format!("hashing the verifier of secret `{name}`: {e}"))?;
            verifiers.insert(name.to_string(), hash.to_string());
        }
    }
    Ok(verifiers)
}

/// The secret answers that differ from the ones `saved` verifies (a secret without a saved
/// verifier is new to the install and accepted).
pub fn differing(answers: &Answers, saved: &Verifiers) -> Vec<String> {
    let hasher = hasher();
    let mut differ = Vec::new();
    for (name, answer) in answers.iter() {
        let saved = saved.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
        if let (Answer::Secret(secret), Some((_, verifier))) = (answer, saved)
            && hasher
                .verify_password(secret.expose_secret().as_bytes(), verifier.as_str())
                .is_err()
        {
            differ.push(name.to_string());
        }
    }
    differ
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn with_secret(value: &str) -> Answers {
        let mut answers = Answers::default();
        answers.insert(
            "Db.Password",
            Answer::Secret(Secret::new(value.to_string())),
        );
        answers.insert("Port", Answer::Value("80".into()));
        answers
    }

    #[test]
    fn the_same_secret_verifies_and_another_does_not() {
        let saved = verifiers(&with_secret("s3cret")).unwrap();
        assert_eq!(saved.len(), 1);
        assert!(!saved["Db.Password"].contains("s3cret"));
        assert!(saved["Db.Password"].starts_with("$argon2id$"));
        assert!(differing(&with_secret("s3cret"), &saved).is_empty());
        assert_eq!(differing(&with_secret("other"), &saved), ["Db.Password"]);
    }
}
