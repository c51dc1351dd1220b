#!/usr/bin/env bash
# Sample step: writes the product's settings with the customer's answers.
set -euo pipefail
echo "Configuring Fabrikam on #{Service.Host}:#{Service.Port}"
