//! Texts of the files in the generated test drop: package contents, scripts, launchers.
//! Kept apart from the layout code in `testdrop.rs` so each reads on its own.

/// A packaged deployment script (`PreDeploy.sh`, …) that appends `<package> <stage>` to the log
/// named by `Fabrikam.DeployLog`, or to `deploy-steps.log` in the current directory.
pub(super) fn packaged_bash(package_id: &str, stage: &str) -> String {
    format!(
        "#!/usr/bin/env bash\n\
         # {package_id} {stage}: records that it ran, in order.\n\
         set -eu\n\
         log=\"$(get_octopusvariable \"Fabrikam.DeployLog\" 2>/dev/null || true)\"\n\
         echo \"{package_id} {stage}\" >> \"${{log:-deploy-steps.log}}\"\n"
    )
}

/// The Windows twin of a packaged script (Calamari prefers `.sh` on Linux, `.ps1` on Windows).
pub(super) fn packaged_powershell(package_id: &str, stage: &str) -> String {
    format!(
        "$log = $OctopusParameters[\"Fabrikam.DeployLog\"]\r\n\
         if (-not $log) {{ $log = \"deploy-steps.log\" }}\r\n\
         Add-Content -Path $log -Value \"{package_id} {stage}\"\r\n"
    )
}

/// `Scripts/Stop Worker Service.sh`.
pub(super) const STOP_WORKER: &str = "#!/usr/bin/env bash\n\
# Stop the Fabrikam worker before its package is replaced.\n\
set -eu\n\
log=\"$(get_octopusvariable \"Fabrikam.DeployLog\" 2>/dev/null || true)\"\n\
echo \"Stop Worker Service\" >> \"${log:-deploy-steps.log}\"\n";

/// `Scripts/Migrate Database.sh`: reads variables, sets an output variable.
pub(super) const MIGRATE_DATABASE: &str = "#!/usr/bin/env bash\n\
# Apply schema migrations for release #{Octopus.Release.Number}.\n\
set -eu\n\
log=\"$(get_octopusvariable \"Fabrikam.DeployLog\" 2>/dev/null || true)\"\n\
server=\"$(get_octopusvariable \"Database.Server\" 2>/dev/null || echo unknown)\"\n\
echo \"Migrate Database on ${server}\" >> \"${log:-deploy-steps.log}\"\n\
set_octopusvariable \"SchemaVersion\" \"412\" 2>/dev/null || true\n";

/// `Scripts/Warm Up Web.ps1`.
pub(super) const WARM_UP_WEB: &str = "$log = $OctopusParameters[\"Fabrikam.DeployLog\"]\r\n\
if (-not $log) { $log = \"deploy-steps.log\" }\r\n\
Add-Content -Path $log -Value \"Warm Up Web\"\r\n\
Write-Host \"Warming up https://#{Service.Host}:#{Service.Port}/\"\r\n";

/// The NuGet manifest.
pub(super) fn nuspec(id: &str, version: &str, description: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <package xmlns=\"http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd\">\n  \
         <metadata>\n    <id>{id}</id>\n    <version>{version}</version>\n    \
         <authors>Fabrikam Ltd</authors>\n    <description>{description}</description>\n  \
         </metadata>\n</package>\n"
    )
}

/// `_rels/.rels` of a nupkg.
pub(super) fn rels(id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
         <Relationship Type=\"http://schemas.microsoft.com/packaging/2010/07/manifest\" Target=\"/{id}.nuspec\" Id=\"R1\" />\
         <Relationship Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" \
         Target=\"/package/services/metadata/core-properties/9f1c2e.psmdcp\" Id=\"R2\" /></Relationships>\n"
    )
}

/// `[Content_Types].xml` of a nupkg.
pub(super) const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\" />\
<Default Extension=\"nuspec\" ContentType=\"application/octet\" />\
<Default Extension=\"psmdcp\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\" />\
<Default Extension=\"json\" ContentType=\"application/octet\" /></Types>\n";

/// The core-properties part under `package/services/metadata/`.
pub(super) fn core_properties(id: &str, version: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<coreProperties \
         xmlns=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\">\
         <identifier>{id}</identifier><version>{version}</version></coreProperties>\n"
    )
}

/// The web tier's `appsettings.json` (structured-variables target).
pub(super) const WEB_APPSETTINGS: &str = r#"{
  "Logging": {
    "LogLevel": {
      "Default": "Information",
      "Microsoft": "Warning"
    }
  },
  "ConnectionStrings": {
    "Main": "Server=localhost;Database=Fabrikam_Dev;Integrated Security=true"
  },
  "Fabrikam": {
    "ServiceUrl": "https://localhost:5001/",
    "ApiKey": "",
    "Features": [ "reports", "exports" ],
    "MaxUploadMb": 50,
    "RequireHttps": true
  }
}
"#;

/// The web tier's `web.config` (.NET configuration variables target).
pub(super) const WEB_CONFIG: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n\
<configuration>\r\n\
  <appSettings>\r\n\
    <add key=\"Fabrikam.ServiceUrl\" value=\"https://localhost:5001/\" />\r\n\
    <add key=\"Fabrikam.ApiKey\" value=\"\" />\r\n\
  </appSettings>\r\n\
  <connectionStrings>\r\n\
    <add name=\"MainDb\" connectionString=\"Server=localhost;Database=Fabrikam_Dev\" providerName=\"System.Data.SqlClient\" />\r\n\
  </connectionStrings>\r\n\
</configuration>\r\n";

/// The web tier's `config/app.conf` (substitution target).
pub(super) const WEB_APP_CONF: &str = "# Fabrikam web tier, release #{Octopus.Release.Number}\n\
listen_port = #{Service.Port}\n\
public_host = #{Service.Host}\n\
database = #{Database.Server}/#{Database.Name}\n\
log_level = #{if Octopus.Environment.Name == \"Production\"}warn#{else}debug#{/if}\n";

/// The worker's `appsettings.json`.
pub(super) const WORKER_APPSETTINGS: &str = r#"{
  "Worker": {
    "Concurrency": 2,
    "QueueName": "fabrikam-dev"
  },
  "ConnectionStrings": {
    "Main": "Server=localhost;Database=Fabrikam_Dev"
  }
}
"#;

/// The worker's `config/worker.conf`.
pub(super) const WORKER_CONF: &str = "# Fabrikam worker, release #{Octopus.Release.Number}\n\
queue = fabrikam-#{Octopus.Environment.Name | ToLower}\n\
database_host = #{Database.Server}\n";

/// The `.cmd` launcher: runs the `.ps1` beside it.
pub(super) fn launcher_cmd(ps1_name: &str) -> String {
    format!(
        "@echo off\r\n\
         REM Octopus Deploy offline package drop launcher: runs the deployment script beside this file.\r\n\
         powershell.exe -NoProfile -ExecutionPolicy Bypass -File \"%~dp0{ps1_name}\" %*\r\n\
         exit /b %ERRORLEVEL%\r\n"
    )
}
