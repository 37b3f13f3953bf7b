#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Runs wsync's benchmarks: wsync side by side with lsyncd and one-shot rsync (tests/bench/README.md).

.DESCRIPTION
    Builds the harness (tests/bench/Wsync.Bench) and runs every scenario against the module at
    -ModulePath. The full run writes tests/bench/results/latest.md, latest.json and latency.png;
    -Smoke runs each scenario once at tiny size (the test suite does, so the harness cannot rot) and
    writes to -OutputDirectory (a temp directory by default). Needs rsync, ssh, sshd and lsyncd; run
    as root so the remote can be a dedicated plain-shell account.

.EXAMPLE
    dotnet pwsh ./build.ps1 Bench

.EXAMPLE
    dotnet pwsh ./build.ps1 Bench -BenchArguments @{ Smoke = $true; Scenario = 1, 6 }
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $ModulePath,

    [switch] $Smoke,

    [string] $OutputDirectory,

    [ValidateRange(1, 13)]
    [int[]] $Scenario = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$project = Join-Path $PSScriptRoot 'Wsync.Bench'
if (-not $OutputDirectory) {
    $OutputDirectory = if ($Smoke) {
        Join-Path ([System.IO.Path]::GetTempPath()) ('wsync-bench-smoke-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
    }
    else {
        Join-Path $PSScriptRoot 'results'
    }
}

& dotnet build $project -c Release --nologo -v quiet
if ($LASTEXITCODE -ne 0) {
    throw "Building the benchmark harness failed ($LASTEXITCODE)."
}

# The pwsh running this script, as a command line, for the control-plane scenario's fresh sessions.
$self = (Get-Process -Id $PID).Path
$pwsh = @($self) + @(if ([System.IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })

$arguments = @('--output', $OutputDirectory, '--module', (Resolve-Path $ModulePath).Path)
$pwsh | ForEach-Object { $arguments += @('--pwsh', $_) }
$Scenario | ForEach-Object { $arguments += @('--scenario', $_) }
if ($Smoke) {
    $arguments += '--smoke'
}

& dotnet (Join-Path $project 'bin/Release/net10.0/Wsync.Bench.dll') @arguments
if ($LASTEXITCODE -ne 0) {
    throw "The benchmark failed ($LASTEXITCODE)."
}
