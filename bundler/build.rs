//! Rebuild when the embedded `templates/` change (include_dir cannot tell cargo on stable).
fn main() {
    println!("cargo:rerun-if-changed=../templates");
}
