#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, installs and packages wsync.

.DESCRIPTION
    A task graph run by Invoke-Build (fetched by the restore, like Pester): each task runs its
    prerequisites first, and each task runs once per invocation however many others need it.

      Build    (default) the importable module folder out/wsync: manifest, cmdlets, format files,
               dependencies/ (the engine and StreamJsonRpc, loaded in the module's own context) and
               bin/<rid>/ (wsyncd and wsync-monitor, compiled to native code: no .NET needed where they
               run; building them needs clang or gcc). This machine's architecture always; linux-arm64
               too on an x64 machine with the cross toolchain, otherwise a warning.
      Test     Build, then every test, xunit and Pester side by side. Ends with one line
               "N passed, N failed, N skipped".
      Repository  Build, then publish the module as a .nupkg into out/repository (a PSResource repository).
      Install  Repository, then Install-PSResource from it into the user's module path, as users install.
      Demo     Install, then run the main job in a fresh pwsh: mirror a workspace to a local directory.
      Package  Repository with every architecture (the arm64 cross toolchain is required, and installed
               when root on Debian).
      Bench    Build, then the benchmarks (tests/bench); not part of Test.
      Churn    Build, then the seeded random-churn test over many seeds (-ChurnSeeds, -ChurnOperations a
               round; Test runs seeds 1-20): long, so not part of Test.
      Acceptance  Build, then the large-tree acceptance test at size (-AcceptanceFiles, 100,000: a tree
               over ssh, churned, its inotify queue overflowing midway, ends exact); Test runs it at 3,000.
      Clean    Remove out/ and every bin/ and obj/.

    System packages come from one list, .ci/prerequisites, which .ci/run reads too.

.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Demo

.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    # The tasks to run (Invoke-Build reserves the name Task for its own).
    [Parameter(Position = 0)]
    [string[]] $Tasks = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Extra arguments for the bench harness (e.g. -Smoke).
    [hashtable] $BenchArguments = @{},

    # The Churn task's seeds, "first-last".
    [ValidatePattern('^\d+-\d+$')]
    [string] $ChurnSeeds = '1-300',

    # The Churn task's operations per round.
    [ValidateRange(1, 100000)]
    [int] $ChurnOperations = 150,

    # The Acceptance task's tree size, in files.
    [ValidateRange(100, 10000000)]
    [int] $AcceptanceFiles = 100000
)

# Run as a plain script: fetch the build tools with the restore (the test project downloads Invoke-Build and
# Pester), then hand this file to Invoke-Build, which runs the tasks below.
if ($MyInvocation.ScriptName -notlike '*Invoke-Build.ps1') {
    $ErrorActionPreference = 'Stop'
    & dotnet restore (Join-Path $PSScriptRoot 'tests/Wsync.Tests') --nologo -v quiet
    if ($LASTEXITCODE -ne 0) {
        throw "dotnet restore failed with exit code $LASTEXITCODE"
    }
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    $arguments = @{} + $PSBoundParameters
    $arguments.Remove('Tasks')
    # Invoke-Build ends with its own "Build succeeded" line; a test run must end with its counts, so the Test
    # task leaves them in a file and they are written here, last.
    $summary = Join-Path $PSScriptRoot 'out/test-results/summary.txt'
    Remove-Item $summary -ErrorAction Ignore
    $code = 0
    try {
        & (Join-Path $packages 'invoke-build/5.14.23/tools/Invoke-Build.ps1') -Task $Tasks -File $PSCommandPath @arguments
    }
    catch {
        Write-Host $_ -ForegroundColor Red # Invoke-Build has said what failed, unless it failed to start
        $code = 1
    }
    if (Test-Path $summary) {
        Write-Host ''
        Write-Host (Get-Content -Raw $summary).Trim()
    }
    exit $code
}

$Root = $BuildRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'wsync'
$Repository = Join-Path $Out 'repository'
$Runtime = 'linux-' + [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant()
$Manifest = Import-PowerShellDataFile (Join-Path $Root 'wsync.psd1')
$ModuleVersion = $Manifest.ModuleVersion
# The architectures built besides this machine's, and how: the native link needs a linker and an objcopy for
# the target and its C library; Debian's gcc cross toolchain has all three (and the runtime pack brings its own
# zlib). qemu-user runs the result here, for the tests. The packages are the "cross" lines of .ci/prerequisites.
$CrossRuntimes = [ordered]@{
    'linux-arm64' = @{ Linker = 'aarch64-linux-gnu-gcc'; ObjCopy = 'aarch64-linux-gnu-objcopy' }
}
# Set by the Package task: build every architecture, not only those whose toolchain happens to be here.
$script:AllRuntimes = $false

# The assemblies in the module root, loaded once in pwsh's default load context and shared with the engine.
$SharedAssemblies = 'Wsync.Commands.dll', 'Wsync.Platform.dll', 'Wsync.Protocol.dll'

function Write-Step([string] $Message) {
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Get-NuGetPackageFile([string] $Id, [string] $Version, [string] $File) {
    # A file of a package the restore fetched (Invoke-Build, Pester), found in the one NuGet cache.
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    $path = Join-Path $packages "$($Id.ToLowerInvariant())/$Version/$File"
    if (-not (Test-Path $path)) {
        throw "$Id $Version was not restored to $path"
    }
    $path
}

function Assert-SystemPackages([string] $When) {
    # Installs what .ci/prerequisites lists for $When and this machine lacks, when it can (root on Debian or
    # Ubuntu); otherwise says exactly what to install.
    $missing = @(Get-Content (Join-Path $Root '.ci/prerequisites') | Where-Object { $_ -and -not $_.StartsWith('#') } | ForEach-Object {
            $when, $probe, $package = -split $_
            if ($when -eq $When -and -not (Test-Probe $probe)) { $package }
        })
    if ($missing.Count -eq 0) {
        return
    }
    $isDebian = Test-Path /etc/debian_version
    if ($isDebian -and (& id -u) -eq '0') {
        Write-Step "Installing $($missing -join ', ') with apt-get"
        $env:DEBIAN_FRONTEND = 'noninteractive'
        exec { apt-get update -qq }
        exec { apt-get install -y -qq --no-install-recommends @missing }
        return
    }
    $command = if ($isDebian) { "sudo apt-get install -y $($missing -join ' ')" } else { "your package manager: $($missing -join ', ')" }
    throw "wsync needs $($missing -join ', '), which this machine lacks. Install with: $command"
}

function Test-Probe([string] $Probe) {
    # A command on PATH or an absolute path; "a|b" is either.
    foreach ($one in $Probe.Split('|')) {
        if ($one.StartsWith('/')) {
            if (Test-Path $one) { return $true }
        }
        elseif (Get-Command $one -CommandType Application -ErrorAction Ignore) {
            return $true
        }
    }
    $false
}

function Get-BuildRuntimes {
    # This machine's architecture, and each cross-built one whose toolchain is here; with $AllRuntimes (a package
    # for everyone) every one, its toolchain installed first by the AllRuntimes task.
    $runtimes = @($Runtime)
    foreach ($name in $CrossRuntimes.Keys | Where-Object { $_ -ne $Runtime }) {
        if ($Runtime -ne 'linux-x64') {
            assert (-not $AllRuntimes) "Building $name is supported from linux-x64 only; this machine is $Runtime."
            continue
        }
        if (Test-Probe $CrossRuntimes[$name].Linker) {
            $runtimes += $name
        }
        else {
            Write-Warning "Not building $name (no $($CrossRuntimes[$name].Linker)): this build runs on $Runtime only. The cross toolchain is the 'cross' lines of .ci/prerequisites."
        }
    }
    $runtimes
}

function Get-PwshCommand {
    # The pwsh running this script, as a command line: 'dotnet pwsh' for the local tool, or pwsh itself.
    $self = (Get-Process -Id $PID).Path
    if ([System.IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') {
        return @($self, [System.IO.Path]::Combine($PSHOME, 'pwsh.dll'))
    }
    @($self)
}

function Invoke-WithScratchHome([string] $Script) {
    # PSResourceGet keeps repository registrations under HOME: publishing uses a throwaway one, never the user's.
    $scratch = Join-Path $Out 'scratch-home'
    Remove-Item -Recurse -Force $scratch -ErrorAction Ignore
    New-Item -ItemType Directory -Force $scratch | Out-Null
    $pwsh = Get-PwshCommand
    $previous = $env:HOME
    try {
        $env:HOME = $scratch
        exec { & $pwsh[0] @($pwsh[1..($pwsh.Count - 1)] + @('-NoProfile', '-Command', "`$ErrorActionPreference = 'Stop'; $Script")) }
    }
    finally {
        $env:HOME = $previous
        Remove-Item -Recurse -Force $scratch -ErrorAction Ignore
    }
}

function Get-UserModulePath {
    $base = if ($env:XDG_DATA_HOME) { $env:XDG_DATA_HOME } else { Join-Path $HOME '.local/share' }
    Join-Path $base 'powershell/Modules'
}

function Stop-InstalledDaemon([string] $InstallDirectory) {
    # A daemon running from an installed copy would keep its old code: stop it by pid. The next wsync command
    # starts the new one, which takes over every workspace from the workspace file.
    foreach ($process in Get-Process wsyncd -ErrorAction Ignore) {
        $path = try { $process.Path } catch { $null }
        if ($path -and $path.StartsWith($InstallDirectory + '/')) {
            Write-Step "Stopping the daemon $($process.Id) of the previous install"
            Stop-Process -Id $process.Id
            $process.WaitForExit(30000) | Out-Null
        }
    }
}

function Read-TrxCounts([string] $Path) {
    # The VSTest runner's own summary of the run (its TRX file's counters); no file is one failure.
    if (-not (Test-Path $Path)) {
        return [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0; FailedNames = @('xunit wrote no results') }
    }
    $run = ([xml](Get-Content -Raw $Path)).TestRun
    $counters = $run.ResultSummary.Counters
    [pscustomobject]@{
        Passed      = [int]$counters.passed
        Failed      = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        Skipped     = [int]$counters.notExecuted
        FailedNames = @($run.Results.UnitTestResult | Where-Object outcome -NE 'Passed' | Where-Object outcome -NE 'NotExecuted' |
                ForEach-Object testName)
    }
}

function Read-PesterCounts([string] $Path) {
    # What Invoke-PesterRun.ps1 wrote from Invoke-Pester's own result object; no file is one failure.
    if (-not (Test-Path $Path)) {
        return [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0; FailedNames = @('Pester wrote no results') }
    }
    Get-Content -Raw $Path | ConvertFrom-Json
}

function Add-Counts($Totals, $Counts, [string] $Runner) {
    if ($Counts.Failed -eq 1 -and $Counts.Passed -eq 0) {
        Write-Warning "$Runner wrote no results: counting the run as one failure."
    }
    $Totals.Passed += $Counts.Passed; $Totals.Failed += $Counts.Failed; $Totals.Skipped += $Counts.Skipped
    $Totals.FailedNames += @($Counts.FailedNames | Where-Object { $_ } | ForEach-Object { "${Runner}: $_" })
}

function Get-MarkedProcesses([string] $Marker) {
    # Processes whose environment carries this test run's marker: everything the tests started.
    foreach ($entry in Get-ChildItem /proc -Directory -ErrorAction Ignore | Where-Object Name -Match '^\d+$') {
        if ([int]$entry.Name -eq $PID) {
            continue
        }
        try {
            $environment = [System.IO.File]::ReadAllText("/proc/$($entry.Name)/environ")
        }
        catch {
            continue
        }
        if ($environment.Contains("WSYNC_TEST_RUN=$Marker`0")) {
            [int]$entry.Name
        }
    }
}

function Stop-LeftoverProcesses([string] $Marker) {
    # A child whose parent was just stopped (an rsync finishing its last write) may still be exiting: strays get
    # a few seconds to go by themselves; what is still there then was left behind, is killed and is one failure.
    $deadline = [datetime]::UtcNow.AddSeconds(5)
    while (@(Get-MarkedProcesses $Marker).Count -gt 0 -and [datetime]::UtcNow -lt $deadline) {
        Start-Sleep -Milliseconds 100
    }
    $leaked = @(Get-MarkedProcesses $Marker)
    if ($leaked.Count -eq 0) {
        return 0
    }
    # The state letter tells a stopped process (T) from a stuck (S, D) or spinning (R) one.
    $names = $leaked | ForEach-Object {
        $stat = Get-Content "/proc/$_/stat" -Raw -ErrorAction Ignore
        $state = if ($stat) { $stat.Substring($stat.LastIndexOf(')') + 2, 1) } else { '?' }
        "$_ [$state] ($(((Get-Content "/proc/$_/cmdline" -Raw -ErrorAction Ignore) -replace "`0", ' ').Trim()))"
    }
    Write-Warning "The tests left $($leaked.Count) processes running: $($names -join ', '). Killing them; counted as one failure."
    $leaked | ForEach-Object { Stop-Process -Id $_ -Force -ErrorAction Ignore }
    1
}

Enter-Build {
    Push-Location $Root
}

Exit-Build {
    Pop-Location
}

# Synopsis: the system packages a build needs (rsync, ssh, a C toolchain, zlib).
task BuildPrerequisites {
    Assert-SystemPackages 'build'
}

# Synopsis: the system packages the tests need besides (sshd, lsyncd, git, systemd).
task TestPrerequisites BuildPrerequisites, {
    Assert-SystemPackages 'test'
}

# Synopsis: the module in out/wsync, with the native daemon and monitor of each architecture built.
task Build BuildPrerequisites, {
    $runtimes = Get-BuildRuntimes
    Write-Step "Building wsync $ModuleVersion ($Configuration, $($runtimes -join ', ')) into $ModuleOut"
    $staging = Join-Path $Out 'staging'
    Remove-Item -Recurse -Force $ModuleOut, $staging -ErrorAction Ignore
    New-Item -ItemType Directory -Force $ModuleOut | Out-Null
    $common = @('-c', $Configuration, '--nologo', '-v', 'quiet', "-p:Version=$ModuleVersion")

    # The cmdlet assembly and the assemblies it shares with the engine sit in the module root, loaded once in
    # the default context.
    exec { dotnet publish (Join-Path $Root 'src/Wsync.Commands') -o (Join-Path $staging 'commands') @common }
    foreach ($file in $SharedAssemblies) {
        Copy-Item (Join-Path $staging "commands/$file") $ModuleOut
    }

    # The engine and all it pulls in go to dependencies/, for the module's own load context.
    $dependencies = Join-Path $ModuleOut 'dependencies'
    exec { dotnet publish (Join-Path $Root 'src/Wsync.Engine') -o $dependencies @common }
    Remove-Item (Join-Path $dependencies '*.pdb'), (Join-Path $dependencies '*.deps.json') -ErrorAction Ignore
    foreach ($file in $SharedAssemblies | Where-Object { Test-Path (Join-Path $dependencies $_) }) {
        throw "$file must not be in dependencies/: it is shared with the default load context."
    }

    # The daemon and the monitor, native code (PublishAot in their projects): no .NET needed where they run.
    # One folder per architecture, bin/<rid>/; the engine starts the one of the machine it runs on. Their
    # separate debug symbols (*.dbg) stay out of the module.
    foreach ($rid in $runtimes) {
        $bin = Join-Path $ModuleOut "bin/$rid"
        $cross = if ($rid -ne $Runtime) {
            @("-p:CppCompilerAndLinker=$($CrossRuntimes[$rid].Linker)", "-p:ObjCopyName=$($CrossRuntimes[$rid].ObjCopy)")
        }
        else { @() }
        foreach ($project in 'Wsync.Daemon', 'Wsync.Monitor', 'Wsync.Agent') {
            exec { dotnet publish (Join-Path $Root "src/$project") -o $bin -r $rid --self-contained true @common @cross }
        }
        Remove-Item (Join-Path $bin '*.pdb'), (Join-Path $bin '*.dbg') -ErrorAction Ignore
    }

    Copy-Item (Join-Path $Root 'wsync.psd1'), (Join-Path $Root 'LICENSE') $ModuleOut
    Copy-Item (Join-Path $Root 'module/*') $ModuleOut -Recurse
    Remove-Item -Recurse -Force $staging
    Write-Step "Module ready: Import-Module $ModuleOut"
}

# Synopsis: every test, xunit and Pester side by side; ends with "N passed, N failed, N skipped".
task Test TestPrerequisites, Build, {
    $results = Join-Path $Out 'test-results'
    Remove-Item -Recurse -Force $results -ErrorAction Ignore
    New-Item -ItemType Directory -Force $results | Out-Null
    $marker = [guid]::NewGuid().ToString('n')
    $env:WSYNC_TEST_RUN = $marker
    $env:WSYNC_MODULE_PATH = Join-Path $ModuleOut 'wsync.psd1'
    $totals = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; FailedNames = @() }
    try {
        exec { dotnet build (Join-Path $Root 'tests/Wsync.Tests') -c $Configuration --nologo -v quiet }

        # xunit and two Pester processes run at the same time: they spend most of their time waiting on real
        # processes (rsync, sshd, daemons, pwsh starting), not on the CPU, so side by side they take little more
        # than the longest of them. Each Pester file has its own wsync home, so the files split freely.
        $pwsh = Get-PwshCommand
        $files = @(Get-ChildItem (Join-Path $Root 'tests/pester') -Filter '*.Tests.ps1' | Sort-Object Name)
        $pester = foreach ($group in 0, 1) {
            $result = Join-Path $results "pester-$group.json"
            $log = Join-Path $results "pester-$group.log"
            $arguments = @($pwsh[1..($pwsh.Count - 1)] + @('-NoProfile', '-File', (Join-Path $Root 'tests/pester/Invoke-PesterRun.ps1'),
                    '-PesterPath', (Get-NuGetPackageFile 'Pester' '6.2.0' 'tools/Pester.psd1'), '-ResultPath', $result,
                    '-Path', (($files | Where-Object { [array]::IndexOf($files, $_) % 2 -eq $group }).FullName -join ',')))
            [pscustomobject]@{
                Result = $result
                Log    = $log
                Job    = Start-ThreadJob -ScriptBlock {
                    $command = $using:pwsh
                    $list = $using:arguments
                    & $command[0] @list *> $using:log
                }
            }
        }
        Write-Step "Pester (two processes in the background; their output follows xunit's, and is in $results)"

        Write-Step 'xunit'
        $trx = Join-Path $results 'xunit.trx'
        & dotnet test (Join-Path $Root 'tests/Wsync.Tests') -c $Configuration --nologo --no-build `
            --logger "trx;LogFileName=$trx" --logger 'console;verbosity=normal' --results-directory $results
        Add-Counts $totals (Read-TrxCounts $trx) 'xunit'

        foreach ($run in $pester) {
            $run.Job | Wait-Job | Receive-Job -ErrorAction Continue
            $run.Job | Remove-Job
            Write-Step "Pester ($(Split-Path -Leaf $run.Log))"
            Get-Content $run.Log -ErrorAction Ignore | Write-Host
            Add-Counts $totals (Read-PesterCounts $run.Result) 'Pester'
        }
    }
    finally {
        $leaked = Stop-LeftoverProcesses $marker
        $totals.Failed += $leaked
        $totals.FailedNames += @(if ($leaked) { 'processes left running (named in the warning above)' })
        Remove-Item Env:WSYNC_TEST_RUN, Env:WSYNC_MODULE_PATH -ErrorAction Ignore
    }

    # The failures by name, then the counts, last: a CI log's tail shows both.
    Set-Content (Join-Path $results 'summary.txt') (@($totals.FailedNames | ForEach-Object { "FAILED $_" }) +
        "$($totals.Passed) passed, $($totals.Failed) failed, $($totals.Skipped) skipped")
    assert ($totals.Failed -eq 0) "$($totals.Failed) tests failed"
}

# Synopsis: out/repository, a PSResource repository holding the module as a .nupkg.
task Repository Build, {
    Remove-Item -Recurse -Force $Repository -ErrorAction Ignore
    New-Item -ItemType Directory -Force $Repository | Out-Null
    Write-Step "Publishing wsync $ModuleVersion into $Repository"
    Invoke-WithScratchHome "Register-PSResourceRepository -Name wsync-local -Uri '$Repository' -Trusted; Publish-PSResource -Path '$ModuleOut' -Repository wsync-local"
    $package = Get-ChildItem $Repository -Filter '*.nupkg' | Select-Object -First 1
    Write-Step "Package: $($package.FullName) ($([math]::Round($package.Length / 1MB, 1)) MB)"
}

# Synopsis: the module installed for this user with Install-PSResource, as users install it.
task Install Repository, {
    Stop-InstalledDaemon (Join-Path (Get-UserModulePath) 'wsync')
    Write-Step "Installing wsync $ModuleVersion with Install-PSResource from $Repository"
    $name = 'wsync-build-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
    Register-PSResourceRepository -Name $name -Uri $Repository -Trusted
    try {
        Install-PSResource -Name wsync -Version $ModuleVersion -Repository $name -Scope CurrentUser -TrustRepository -Reinstall -Quiet
    }
    finally {
        Unregister-PSResourceRepository -Name $name
    }
    Write-Step 'Installed: Import-Module wsync'
}

# Synopsis: the main job, in a fresh pwsh: mirror a workspace to a local directory and watch a file land.
task Demo Install, {
    Write-Step 'Running the demo in a fresh pwsh'
    $pwsh = Get-PwshCommand
    exec { & $pwsh[0] @($pwsh[1..($pwsh.Count - 1)] + @('-NoProfile', '-File', (Join-Path $Root 'examples/demo.ps1'))) }
}

# Synopsis: build every architecture (installing the cross toolchain when root on Debian).
task AllRuntimes {
    Assert-SystemPackages 'cross'
    $script:AllRuntimes = $true
}

# Synopsis: the .nupkg for PSGallery, with the daemon and monitor of every architecture.
task Package AllRuntimes, Repository, {
    foreach ($rid in @($Runtime) + $CrossRuntimes.Keys) {
        assert (Test-Path (Join-Path $ModuleOut "bin/$rid/wsyncd")) "The package lacks bin/${rid}: run Package on its own, not after Build."
    }
}

# Synopsis: the benchmarks (tests/bench), side by side with lsyncd and one-shot rsync.
task Bench TestPrerequisites, Build, {
    & (Join-Path $Root 'tests/bench/Invoke-Benchmark.ps1') -ModulePath (Join-Path $ModuleOut 'wsync.psd1') @BenchArguments
}

# Synopsis: the seeded random-churn test over many seeds (a failing seed goes into ChurnTests.Regressions).
task Churn TestPrerequisites, Build, {
    Write-Step "Random churn: seeds $ChurnSeeds, $ChurnOperations operations a round"
    $env:WSYNC_CHURN_SEEDS = $ChurnSeeds
    $env:WSYNC_CHURN_OPERATIONS = $ChurnOperations
    try {
        exec { dotnet test (Join-Path $Root 'tests/Wsync.Tests') -c $Configuration --nologo --filter 'FullyQualifiedName~ChurnTests' --logger 'console;verbosity=normal' }
    }
    finally {
        Remove-Item Env:WSYNC_CHURN_SEEDS, Env:WSYNC_CHURN_OPERATIONS -ErrorAction Ignore
    }
}

# Synopsis: issue 18's acceptance at size: a 100,000-file tree over ssh with an overflow in the middle of churn ends exact.
task Acceptance TestPrerequisites, Build, {
    Write-Step "Acceptance: $AcceptanceFiles files with an inotify overflow in the middle"
    $env:WSYNC_ACCEPTANCE_FILES = $AcceptanceFiles
    try {
        exec { dotnet test (Join-Path $Root 'tests/Wsync.Tests') -c $Configuration --nologo --filter 'FullyQualifiedName~LargeTreeTests' --logger 'console;verbosity=normal' }
    }
    finally {
        Remove-Item Env:WSYNC_ACCEPTANCE_FILES -ErrorAction Ignore
    }
}

# Synopsis: remove out/ and every bin/ and obj/.
task Clean {
    Remove-Item -Recurse -Force $Out -ErrorAction Ignore
    Get-ChildItem $Root -Recurse -Directory -Include bin, obj |
        Where-Object { $_.FullName -notlike "$Root/.git*" } |
        Remove-Item -Recurse -Force -ErrorAction Ignore
}

task . Build
