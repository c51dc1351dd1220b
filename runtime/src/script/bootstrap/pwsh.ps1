# dropship's helpers for Octopus PowerShell scripts, dot-sourced by the generated bootstrap.
#
# Written for dropship from docs/octopus-conventions.md §5.5 (not Calamari's code):
# $OctopusParameters (case-insensitive), the $OctopusXyz shortcuts, Set-OctopusVariable, Fail-Step,
# New-OctopusArtifact, Update-Progress, Set-EnvironmentState/Url, Remove-OctopusTarget and the
# Write-Verbose/Debug/Highlight/Wait/Warning overrides. The variables come from a 0600 JSON file
# ({"variables": [[name, value], ...]}) in a private directory, deleted once read. Not provided:
# New-OctopusTarget, Kubernetes manifests, Execute-WithRetry, proxy set-up.
# Untested where pwsh is missing (the integration test runs it where pwsh exists).
param([Parameter(Mandatory = $true)][string] $VariablesFile)

$ErrorActionPreference = 'Stop'
$PSNativeCommandArgumentPassing = 'Legacy'

# Called by the bootstrap for each script module (`Octopus.Script.Module[NAME]`), before the
# script: its functions are then in scope. A module that does not load stops the script.
function Import-ScriptModule([string] $moduleName, [string] $moduleFilePath) {
    try {
        Write-Verbose "Importing Script Module '$moduleName' from '$moduleFilePath'"
        Import-Module -DisableNameChecking $moduleFilePath
    } catch {
        [Console]::Error.WriteLine("Failed to import Script Module '$moduleName' from '$moduleFilePath'")
        [Console]::Error.WriteLine($_.Exception.Message)
        exit 1
    }
}

function Convert-ToServiceMessageValue([string] $value) {
    if ($null -eq $value) { $value = '' }
    return [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($value))
}

function Convert-FromServiceMessageValue([string] $value) {
    return [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($value))
}

$global:OctopusParameters = New-Object 'System.Collections.Generic.Dictionary[String,String]' ([StringComparer]::OrdinalIgnoreCase)
# In a child scope, so the loop variables do not leak into the script's scope.
& {
    $config = Get-Content -LiteralPath $VariablesFile -Raw -Encoding UTF8 | ConvertFrom-Json
    # The values now live in memory only (the installer deletes the directory afterwards too).
    Remove-Item -LiteralPath $VariablesFile -Force -ErrorAction SilentlyContinue
    foreach ($pair in $config.variables) {
        $global:OctopusParameters[[string]($pair[0])] = [string]($pair[1])
    }
    foreach ($name in @($global:OctopusParameters.Keys)) {
        if ($name.Contains('[')) { continue }
        foreach ($short in @(($name -replace '[^A-Za-z0-9]', ''), ($name -replace '[^A-Za-z0-9_]', ''))) {
            if ($short -and -not (Test-Path "variable:global:$short")) {
                Set-Variable -Scope Global -Name $short -Value $global:OctopusParameters[$name]
            }
        }
    }
}

function Write-ServiceMessage([string] $name, [Collections.IDictionary] $attributes) {
    $text = "##octopus[$name"
    foreach ($key in $attributes.Keys) {
        $text += " $key='$(Convert-ToServiceMessageValue $attributes[$key])'"
    }
    Write-Host "$text]"
}

function Set-OctopusVariable([string] $name, [string] $value, [switch] $sensitive) {
    $attributes = [ordered]@{ name = $name; value = $value }
    if ($sensitive) { $attributes['sensitive'] = 'True' }
    Write-ServiceMessage 'setVariable' $attributes
}

function Fail-Step([string] $message) {
    if ($message) { Write-ServiceMessage 'resultMessage' @{ message = $message } }
    exit -1
}

function New-OctopusArtifact([string] $path, [string] $name) {
    if (-not $name) { $name = [IO.Path]::GetFileName($path) }
    $full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path)
    $length = 0
    if (Test-Path -LiteralPath $full -PathType Leaf) {
        $length = (Get-Item -LiteralPath $full).Length
    } else {
        Write-Verbose "There is no file at $full; the artifact will be empty."
    }
    Write-ServiceMessage 'createArtifact' ([ordered]@{ path = $full; name = $name; length = [string]$length })
}

function Update-Progress([int] $percentage, [string] $message = '') {
    Write-ServiceMessage 'progress' ([ordered]@{ percentage = [string]$percentage; message = $message })
}

function Set-EnvironmentState([string] $key, [string] $value, [switch] $sensitive, [string] $type = 'State') {
    $attributes = [ordered]@{ key = $key; value = $value }
    if ($sensitive) { $attributes['sensitive'] = 'True' }
    $attributes['type'] = $type
    Write-ServiceMessage 'set-environmentstate' $attributes
}

function Set-EnvironmentUrl([string] $key, [string] $url) {
    Set-EnvironmentState -key $key -value $url -type 'Url'
}

function Remove-OctopusTarget([string] $targetIdOrName) {
    Write-ServiceMessage 'delete-target' @{ machine = $targetIdOrName }
}

function Write-Level([string] $level, [object] $message) {
    Write-Host "##octopus[stdout-$level]"
    Write-Host $message
    Write-Host '##octopus[stdout-default]'
}

function Write-Verbose([Parameter(ValueFromPipeline = $true)][object] $Message) {
    process { Write-Level 'verbose' $Message }
}
function Write-Debug([Parameter(ValueFromPipeline = $true)][object] $Message) {
    process { Write-Level 'verbose' $Message }
}
function Write-Highlight([Parameter(ValueFromPipeline = $true)][object] $Message) {
    process { Write-Level 'highlight' $Message }
}
function Write-Wait([Parameter(ValueFromPipeline = $true)][object] $Message) {
    process { Write-Level 'wait' $Message }
}
function Write-Warning([Parameter(ValueFromPipeline = $true)][object] $Message) {
    process {
        if ($WarningPreference -ne 'SilentlyContinue') { Write-Level 'warning' $Message }
    }
}
