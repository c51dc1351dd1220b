#!/usr/bin/env bash
# Sample step: checks what the Deploy step left, as an Octopus script would.
set -euo pipefail
root="$(get_octopusvariable "Octopus.Action[Deploy Fabrikam.Web].Output.WebRoot")"
echo "Configuring Fabrikam on #{Service.Host}:#{Service.Port} (web root ${root})"
test -f "${root}/INSTALLED"
write_highlight "Fabrikam is configured"
