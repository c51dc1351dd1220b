//! Every file of every target's corpus (`fuzz/corpus/<target>/`), fed through the same function
//! the fuzz target calls: inputs that once crashed or hung stay fixed, on stable, in seconds.

use dropship_fuzz_harness::TARGETS;
use std::path::Path;

#[test]
fn every_corpus_file_of_every_target_replays() {
    let corpora = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    for (name, target) in TARGETS {
        let dir = corpora.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the corpus of `{name}` ({}): {e}", dir.display()))
            .map(|entry| entry.expect("a corpus entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "the corpus of `{name}` is empty");
        for file in files {
            let data = std::fs::read(&file).expect("a corpus file");
            eprintln!("{name}: {}", file.display());
            target(&data);
        }
    }
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz_targets");
    for (name, _) in TARGETS {
        let file = targets.join(format!("{name}.rs"));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.contains(&format!("dropship_fuzz_harness::{name}(")),
            "{} does not call the harness's `{name}`",
            file.display()
        );
    }
}
