//! Properties checked against an independent reference (serde_json, the container writer, the
//! identity of plain text), on inputs proptest generates: what the fuzz targets can only check
//! for crashes, these check for correct answers.

use dropship_runtime::config::{StructuredOptions, replace_structured};
use dropship_runtime::container::{
    ALIGNMENT, InstallerFile, MAX_MANIFEST_LEN, MAX_SIGNATURE_LEN, Manifest, PrefixLayout,
    TRAILER_LEN, Trailer, append_signature,
};
use dropship_runtime::template::{Mode, Variables, evaluate};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::path::Path;

/// Any JSON document: scalars, and arrays and objects a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z0-9:_ ]{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every `:`-joined path of a document, the names structured variables address nodes by.
fn paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => return,
    };
    for (key, child) in children {
        let path = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}:{key}")
        };
        paths(child, &path, out);
        out.push(path);
    }
}

/// Replace `variables` in `document` written as `appsettings.json`; the text afterwards.
fn replaced_json(document: &str, variables: &[(String, String)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("appsettings.json");
    std::fs::write(&path, document).unwrap();
    let variables: Vec<(String, Option<String>)> = variables
        .iter()
        .map(|(name, value)| (name.clone(), Some(value.clone())))
        .collect();
    replace_structured(&path, &variables, StructuredOptions::default(), &mut |_| {
        Ok(())
    })
    .unwrap();
    std::fs::read_to_string(&path).unwrap()
}

/// A document, and variables naming some of its paths (and one that names none).
fn document_and_variables() -> impl Strategy<Value = (Value, Vec<(String, String)>)> {
    json_value().prop_flat_map(|doc| {
        let mut names = vec!["Not:There".to_string()];
        paths(&doc, "", &mut names);
        let variable = (prop::sample::select(names), any::<String>());
        (Just(doc), prop::collection::vec(variable, 0..6))
    })
}

proptest! {
    #[test]
    fn structured_json_replacement_always_yields_json((doc, variables) in document_and_variables()) {
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let out = replaced_json(&text, &variables);
        prop_assert!(serde_json::from_str::<Value>(&out).is_ok(), "not JSON:\n{out}");
    }

    #[test]
    fn structured_json_replacement_holds_the_values(
        values in prop::collection::btree_map("[a-z]{1,6}", any::<String>(), 1..8),
        replaced in prop::collection::vec(any::<String>(), 1..8),
    ) {
        let doc: Map<String, Value> =
            values.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        let variables: Vec<(String, String)> =
            doc.keys().cloned().zip(replaced).collect();
        let text = serde_json::to_string(&doc).unwrap();
        let out: Value = serde_json::from_str(&replaced_json(&text, &variables)).unwrap();
        for (name, value) in &variables {
            prop_assert_eq!(&out[name], &Value::String(value.clone()));
        }
    }

    #[test]
    fn the_trailer_parser_accepts_exactly_what_the_writer_writes(
        runtime_len in 0u64..1 << 40,
        payload_len in 0u64..1 << 40,
        manifest_len in 10u64..=MAX_MANIFEST_LEN,
        signature_len in 1u64..=MAX_SIGNATURE_LEN,
        at in 0..TRAILER_LEN as usize,
        flip in 1u8..,
    ) {
        let prefix = PrefixLayout { runtime_len, payload_len, manifest_len };
        let trailer = Trailer::new(&prefix, signature_len);
        let bytes = trailer.to_bytes();
        let path = Path::new("installer");
        prop_assert_eq!(Trailer::parse(&bytes, trailer.file_len, path).unwrap(), trailer);
        let mut changed = bytes;
        changed[at] ^= flip;
        prop_assert!(Trailer::parse(&changed, trailer.file_len, path).is_err());
    }

    #[test]
    fn an_installer_the_writer_writes_opens(
        runtime in prop::collection::vec(any::<u8>(), 0..64),
        payload in prop::collection::vec(any::<u8>(), 0..64),
        signature in "[ -~\n]{1,300}",
        customer in any::<Option<String>>(),
    ) {
        let mut manifest = sample_manifest();
        manifest.runtime.bytes = runtime.len() as u64;
        manifest.payload.bytes = payload.len() as u64;
        manifest.customer = customer;
        let region = manifest.to_region();
        let prefix = PrefixLayout {
            runtime_len: runtime.len() as u64,
            payload_len: payload.len() as u64,
            manifest_len: region.len() as u64,
        };
        let mut file = [runtime, payload, region].concat();
        append_signature(&mut file, &prefix, &signature).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("installer");
        std::fs::write(&path, &file).unwrap();
        let opened = InstallerFile::open(&path).unwrap();
        prop_assert_eq!(opened.manifest, manifest);
        prop_assert_eq!(opened.signature, signature);
        prop_assert_eq!(opened.trailer.file_len, file.len() as u64);
        prop_assert_eq!(file.len() as u64 % ALIGNMENT, 0);
        prop_assert_eq!(
            opened.trailer.signature_len + opened.trailer.padding + TRAILER_LEN,
            file.len() as u64 - prefix.end()
        );
    }

    #[test]
    fn text_without_a_template_evaluates_to_itself(text in any::<String>()) {
        prop_assume!(!text.contains("#{"));
        let mut vars = Variables::new();
        vars.set("Name", Some("value".to_string()));
        for mode in [Mode::Strict, Mode::Continue] {
            let evaluation = evaluate(&text, &vars, mode).unwrap();
            prop_assert_eq!(evaluation.output.as_deref(), Some(text.as_str()));
            prop_assert_eq!(evaluation.error, None);
        }
    }
}

/// A manifest as `dropship build` writes one (the sizes are set by each case).
fn sample_manifest() -> Manifest {
    serde_json::from_value(serde_json::json!({
        "format": 2,
        "product": { "name": "Fabrikam Platform", "version": "4.12.0", "vendor": "Fabrikam Ltd" },
        "customer": "contoso",
        "built_at": "2026-01-01T00:00:00Z",
        "bundler_version": "0.1.0",
        "runtime": { "bytes": 0, "digest": "blake3:22" },
        "payload": {
            "codec": "zstd", "bytes": 0, "unpacked_bytes": 2048, "files": 3, "digest": "blake3:00"
        },
        "plan_digest": "blake3:11",
        "contents": ["plan.json", "drop/"],
        "signer": { "key_id": "0123456789ABCDEF", "public_key": "RW..." }
    }))
    .unwrap()
}
