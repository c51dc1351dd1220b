//! The two drops of many small things: tens of thousands of small text files in nested
//! directories, and hundreds of small zip packages with a plan that deploys each one.

use super::drop::{Generated, Rng, copy_sample, write_random, write_text};
use super::tools::{q, sh, size_of};
use crate::Result;
use std::fs;
use std::path::Path;

/// Files per leaf directory of the small-file drop.
const FILES_PER_DIR: u64 = 50;

/// Text extensions the small files cycle through; `true` for JSON content.
const TEXT_KINDS: [(&str, bool); 6] = [
    ("ps1", false),
    ("json", true),
    ("config", false),
    ("xml", false),
    ("txt", false),
    ("md", false),
];

/// The sample's drop plus `count` small text files under `Content/`, 50 to a directory three
/// levels down (`app00/part00/set0/`), like a web application's content tree.
pub fn small_files(root: &Path, sample: &Path, count: u64) -> Result<Generated> {
    copy_sample(root, sample)?;
    let mut rng = Rng(0x5EED_F11E);
    let mut written = Generated { files: 0, bytes: 0 };
    for i in 0..count {
        let dir = root.join(small_file_dir(i));
        if i.is_multiple_of(FILES_PER_DIR) {
            fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        }
        let (ext, json) = TEXT_KINDS[(i % TEXT_KINDS.len() as u64) as usize];
        let path = dir.join(format!("file{i:05}.{ext}"));
        write_text(&path, small_file_size(rng.next()), i, json).map_err(|e| e.to_string())?;
        written.bytes += size_of(&path);
        written.files += 1;
    }
    Ok(written)
}

/// The directory of the `i`th small file, relative to the drop.
fn small_file_dir(i: u64) -> String {
    let set = i / FILES_PER_DIR;
    format!(
        "Content/app{:02}/part{:02}/set{}",
        set / 100,
        set / 5 % 20,
        set % 5
    )
}

/// A few hundred bytes to a few KB: seven files in eight between 200 B and 2 KB, the eighth
/// between 2 and 8 KB.
fn small_file_size(r: u64) -> u64 {
    if r.is_multiple_of(8) {
        2_000 + r / 8 % 6_000
    } else {
        200 + r / 8 % 1_800
    }
}

/// The files of every generated package: a path inside it, bytes as (least, spread), and
/// whether they are text (else incompressible, as a compiled assembly is).
const PACKAGE_FILES: [(&str, u64, u64, bool); 5] = [
    ("lib/Fabrikam.Module.dll", 16_000, 144_000, false),
    ("appsettings.json", 1_000, 3_000, true),
    ("web.config", 1_000, 2_000, true),
    ("README.md", 500, 1_500, true),
    ("content/site.css", 2_000, 8_000, true),
];

/// What [`packages`] generated.
pub struct Packages {
    /// The zip files in the drop.
    pub drop: Generated,
    /// The files inside them.
    pub entries: u64,
}

/// `count` zip packages of [`PACKAGE_FILES`] in `root/Packages` (each zipped from a directory
/// under `staging`, removed afterwards), and at `plan` a plan with one `deploy-package` step per
/// package into `#{Install.Root}/<package file stem>`.
pub fn packages(root: &Path, staging: &Path, plan: &Path, count: u64) -> Result<Packages> {
    let stems: Vec<String> = (0..count)
        .map(|i| format!("Fabrikam.Module{i:03}.1.0.{i}"))
        .collect();
    for (i, stem) in stems.iter().enumerate() {
        write_package_files(&staging.join(stem), i as u64).map_err(|e| e.to_string())?;
    }
    let packages = root.join("Packages");
    fs::create_dir_all(&packages).map_err(|e| e.to_string())?;
    sh(&format!(
        "cd {} && for d in *; do (cd \"$d\" && zip -q -r -X {}/\"$d\".zip .); done",
        q(staging),
        q(&packages)
    ))?;
    let _ = fs::remove_dir_all(staging);
    fs::write(plan, plan_json(&stems)).map_err(|e| e.to_string())?;
    let bytes = stems
        .iter()
        .map(|stem| size_of(&packages.join(format!("{stem}.zip"))))
        .sum();
    Ok(Packages {
        drop: Generated {
            files: count,
            bytes,
        },
        entries: count * PACKAGE_FILES.len() as u64,
    })
}

fn write_package_files(dir: &Path, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    for (j, (name, least, spread, text)) in PACKAGE_FILES.into_iter().enumerate() {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().expect("a file in the package"))?;
        let size = least + rng.next() % spread;
        let file_seed = seed * 16 + j as u64;
        if text {
            write_text(&path, size, file_seed, name.ends_with(".json"))?;
        } else {
            write_random(&path, size, file_seed)?;
        }
    }
    Ok(())
}

/// A plan that deploys each package (with the role the benchmark's customer profiles name) `Packages/<stem>.zip` into `#{Install.Root}/<stem>`.
fn plan_json(stems: &[String]) -> String {
    let steps: Vec<String> = stems
        .iter()
        .map(|stem| {
            format!(
                r##"    {{ "name": "Deploy {stem}", "type": "deploy-package", "package": "Packages/{stem}.zip", "destination": "#{{Install.Root}}/{stem}" }}"##
            )
        })
        .collect();
    format!(
        r#"{{
  "schema": "dropship/plan@1",
  "product": {{ "name": "Fabrikam Modules", "version": "1.0.0", "vendor": "Fabrikam Ltd" }},
  "roles": ["web"],
  "parameters": [
    {{ "name": "Install.Root", "label": "Installation directory", "type": "path" }}
  ],
  "steps": [
{}
  ]
}}
"#,
        steps.join(",\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_are_fifty_to_a_directory_three_levels_down() {
        assert_eq!(small_file_dir(0), "Content/app00/part00/set0");
        assert_eq!(small_file_dir(49), "Content/app00/part00/set0");
        assert_eq!(small_file_dir(50), "Content/app00/part00/set1");
        assert_eq!(small_file_dir(250), "Content/app00/part01/set0");
        assert_eq!(small_file_dir(49_999), "Content/app09/part19/set4");
    }

    #[test]
    fn small_file_sizes_stay_between_200_bytes_and_8_kb() {
        let mut rng = Rng(3);
        let sizes: Vec<u64> = (0..10_000).map(|_| small_file_size(rng.next())).collect();
        assert!(sizes.iter().all(|s| (200..8_000).contains(s)));
        let large = sizes.iter().filter(|s| **s >= 2_000).count();
        assert!((800..1_800).contains(&large), "{large} of 10,000 over 2 KB");
    }

    #[test]
    fn the_plan_deploys_every_package_into_its_own_directory() {
        let plan = plan_json(&["A.1.0.0".into(), "B.1.0.1".into()]);
        assert!(plan.contains(
            r##""package": "Packages/B.1.0.1.zip", "destination": "#{Install.Root}/B.1.0.1" }"##
        ));
        assert_eq!(plan.matches("deploy-package").count(), 2);
        assert!(plan.contains(r#""type": "path""#));
    }
}
