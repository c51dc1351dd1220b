//! `dropship build --platform`: the stub must be an executable of the platform named.

use crate::support::{Workspace, run};

#[test]
fn a_stub_of_another_platform_is_refused_naming_the_one_to_use() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let out = ws.path("installer.exe");
    let refused = run(ws
        .build_command(&out)
        .args(["--platform", "windows-x86_64"]))
    .code(2);
    assert!(
        refused
            .stderr
            .contains("is not a windows-x86_64 executable")
            && refused
                .stderr
                .contains("dropship-runtime-windows-x86_64.exe"),
        "{refused:#?}"
    );
    assert!(!out.exists());
    run(ws
        .build_command(&ws.path("installer"))
        .args(["--platform", "linux-x86_64"]))
    .success();
}
