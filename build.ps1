#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, installs and packages wsync.

.DESCRIPTION
    Tasks (run in the order given):
      Build    (default) the importable module folder out/wsync: manifest, cmdlets, format files,
               dependencies/ (the engine and StreamJsonRpc, loaded in the module's own context) and
               bin/<rid>/ (wsyncd and wsync-monitor, compiled to native code: no .NET needed where they
               run; building them needs clang or gcc). This machine's architecture always; linux-arm64
               too on an x64 machine with the cross toolchain ($CrossRuntimes), otherwise a warning.
      Test     Build, then every test: xunit and Pester side by side. Ends with one line "N passed, N failed, N skipped".
      Install  Build, then copy the module into the user's module path (Import-Module wsync works anywhere).
      Demo     Install, then run the main job in a fresh pwsh: mirror a workspace to a local directory.
      Package  Build for every architecture (linux-x64 and linux-arm64: the arm64 cross toolchain is
               required, and installed when root on Debian), then publish the module as a .nupkg into
               out/repository (a local PSResource repository).
      Bench    Build, then run the benchmarks (tests/bench); not part of Test.
      Churn    Build, then the seeded random-churn test over many seeds ($ChurnSeeds, $ChurnOperations
               operations a round; Test runs seeds 1-20): long, so not part of Test.
      Clean    Remove out/ and every bin/ and obj/.

.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Demo

.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Install', 'Demo', 'Package', 'Bench', 'Churn', 'Clean')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Extra arguments for the bench harness (e.g. -Smoke).
    [hashtable] $BenchArguments = @{},

    # The Churn task's seeds, "first-last".
    [ValidatePattern('^\d+-\d+$')]
    [string] $ChurnSeeds = '1-300',

    # The Churn task's operations per round.
    [ValidateRange(1, 100000)]
    [int] $ChurnOperations = 150
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'wsync'
$Runtime = 'linux-' + [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant()
# The architectures built besides this machine's, and how: the native link needs a linker and an
# objcopy for the target and its C library; Debian's gcc cross toolchain has all three (and the
# runtime pack brings its own zlib). qemu-user runs the result here, for the tests.
$CrossRuntimes = [ordered]@{
    'linux-arm64' = @{
        Linker   = 'aarch64-linux-gnu-gcc'
        ObjCopy  = 'aarch64-linux-gnu-objcopy'
        Packages = @('gcc-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu', 'libc6-dev-arm64-cross', 'qemu-user')
    }
}
$Manifest = Import-PowerShellDataFile (Join-Path $Root 'wsync.psd1')
$ModuleVersion = $Manifest.ModuleVersion

function Write-Step([string] $Message) {
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Invoke-Native {
    # Runs a program with an argument vector and stops the build when it fails.
    param([string] $FilePath, [string[]] $ArgumentList)
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) {
        throw "$FilePath $($ArgumentList -join ' ') failed with exit code $LASTEXITCODE"
    }
}

function Assert-SystemPackages {
    # wsync mirrors with rsync over ssh; the tests also need sshd, and the benchmark (and its smoke
    # test) lsyncd. The daemon and the monitor are compiled to native code (PublishAot), which links
    # with clang or gcc. Install what is missing when we can (root on Debian/Ubuntu), otherwise say
    # exactly what to install.
    param([switch] $ForTests, [string[]] $Packages = @())
    $needed = [ordered]@{ rsync = 'rsync'; ssh = 'openssh-client' }
    if ($ForTests) {
        $needed['sshd'] = 'openssh-server'
        $needed['lsyncd'] = 'lsyncd'
    }
    $missing = @($needed.Keys | Where-Object {
            -not (Get-Command $_ -CommandType Application -ErrorAction Ignore) -and -not (Test-Path "/usr/sbin/$_")
        } | ForEach-Object { $needed[$_] })
    if (-not (Get-Command clang, gcc -CommandType Application -ErrorAction Ignore)) {
        $missing += 'clang'
    }
    if (-not (Test-Path /usr/include/zlib.h)) {
        $missing += 'zlib1g-dev' # the native linker's prerequisites on Linux: a C toolchain and zlib
    }
    $missing += @($Packages | Where-Object { -not (Test-DebianPackage $_) })
    if ($missing.Count -eq 0) {
        return
    }
    $isDebian = Test-Path /etc/debian_version
    $isRoot = (& id -u) -eq '0'
    if ($isDebian -and $isRoot) {
        Write-Step "Installing $($missing -join ', ') with apt-get"
        $env:DEBIAN_FRONTEND = 'noninteractive'
        Invoke-Native apt-get @('update', '-qq')
        Invoke-Native apt-get (@('install', '-y', '-qq', '--no-install-recommends') + $missing)
        return
    }
    $command = if ($isDebian) { "sudo apt-get install -y $($missing -join ' ')" } else { "your package manager: $($missing -join ', ')" }
    throw "wsync needs $($missing -join ', '), which this machine lacks. Install with: $command"
}

function Test-DebianPackage([string] $Name) {
    (Get-Command dpkg-query -CommandType Application -ErrorAction Ignore) -and
    ((& dpkg-query -W -f '${Status}' $Name 2>$null) -eq 'install ok installed')
}

function Get-BuildRuntimes([switch] $All) {
    # This machine's architecture, and each cross-built one whose toolchain is here. With -All (a
    # package for everyone), every one: its toolchain is installed first, or the build stops.
    $runtimes = @($Runtime)
    foreach ($name in $CrossRuntimes.Keys | Where-Object { $_ -ne $Runtime }) {
        $cross = $CrossRuntimes[$name]
        if ($Runtime -ne 'linux-x64') {
            if ($All) { throw "Building $name is supported from linux-x64 only; this machine is $Runtime." }
            continue
        }
        if ($All) {
            Assert-SystemPackages -Packages $cross.Packages
        }
        if (Get-Command $cross.Linker -CommandType Application -ErrorAction Ignore) {
            $runtimes += $name
        }
        else {
            Write-Warning "Not building $name (no $($cross.Linker)): this build runs on $Runtime only. Install the cross toolchain with: apt-get install $($cross.Packages -join ' ')"
        }
    }
    $runtimes
}

function Invoke-Build {
    param([switch] $AllRuntimes)
    Assert-SystemPackages
    $runtimes = Get-BuildRuntimes -All:$AllRuntimes
    Write-Step "Building wsync $ModuleVersion ($Configuration, $($runtimes -join ', ')) into $ModuleOut"
    $staging = Join-Path $Out 'staging'
    Remove-Item -Recurse -Force $ModuleOut, $staging -ErrorAction Ignore
    New-Item -ItemType Directory -Force $ModuleOut | Out-Null

    $common = @('-c', $Configuration, '--nologo', '-v', 'quiet', "-p:Version=$ModuleVersion")

    # The cmdlet assembly and the contract sit in the module root, loaded in the default context.
    Invoke-Native dotnet (@('publish', (Join-Path $Root 'src/Wsync.Commands'), '-o', (Join-Path $staging 'commands')) + $common)
    foreach ($file in 'Wsync.Commands.dll', 'Wsync.Protocol.dll') {
        Copy-Item (Join-Path $staging "commands/$file") $ModuleOut
    }

    # The engine and all it pulls in go to dependencies/, for the module's own load context.
    $dependencies = Join-Path $ModuleOut 'dependencies'
    Invoke-Native dotnet (@('publish', (Join-Path $Root 'src/Wsync.Engine'), '-o', $dependencies) + $common)
    Remove-Item (Join-Path $dependencies '*.pdb'), (Join-Path $dependencies '*.deps.json') -ErrorAction Ignore
    if (Test-Path (Join-Path $dependencies 'Wsync.Protocol.dll')) {
        throw 'Wsync.Protocol.dll must not be in dependencies/: it is shared with the default load context.'
    }

    # The daemon and the monitor, native code (PublishAot in their projects): no .NET needed where
    # they run, and a fraction of the memory of a JIT-compiled runtime. One folder per architecture,
    # bin/<rid>/; the engine starts the one of the machine it runs on. Their separate debug symbols
    # (*.dbg) stay out of the module.
    foreach ($rid in $runtimes) {
        $bin = Join-Path $ModuleOut "bin/$rid"
        $cross = if ($rid -ne $Runtime) {
            @("-p:CppCompilerAndLinker=$($CrossRuntimes[$rid].Linker)", "-p:ObjCopyName=$($CrossRuntimes[$rid].ObjCopy)")
        }
        else { @() }
        foreach ($project in 'Wsync.Daemon', 'Wsync.Monitor') {
            Invoke-Native dotnet (@('publish', (Join-Path $Root "src/$project"), '-o', $bin, '-r', $rid, '--self-contained', 'true') + $common + $cross)
        }
        Remove-Item (Join-Path $bin '*.pdb'), (Join-Path $bin '*.dbg') -ErrorAction Ignore
    }

    Copy-Item (Join-Path $Root 'wsync.psd1'), (Join-Path $Root 'LICENSE') $ModuleOut
    Copy-Item (Join-Path $Root 'module/*') $ModuleOut -Recurse
    Remove-Item -Recurse -Force $staging
    Write-Step "Module ready: Import-Module $ModuleOut"
}

function Get-UserModulePath {
    $base = if ($env:XDG_DATA_HOME) { $env:XDG_DATA_HOME } else { Join-Path $HOME '.local/share' }
    Join-Path $base 'powershell/Modules'
}

function Stop-InstalledDaemon([string] $InstallDirectory) {
    # A daemon running from the copy being replaced would keep the old code: stop it by pid. The next
    # wsync command starts the new one, which takes over every workspace from the workspace file.
    foreach ($process in Get-Process wsyncd -ErrorAction Ignore) {
        $path = try { $process.Path } catch { $null }
        if ($path -and $path.StartsWith($InstallDirectory + '/')) {
            Write-Step "Stopping the daemon $($process.Id) of the previous install"
            Stop-Process -Id $process.Id
            $process.WaitForExit(30000) | Out-Null
        }
    }
}

function Invoke-Install {
    Invoke-Build
    $target = Join-Path (Get-UserModulePath) "wsync/$ModuleVersion"
    Stop-InstalledDaemon $target
    Write-Step "Installing into $target"
    # Remove first: running executables cannot be overwritten in place, but can be unlinked.
    Remove-Item -Recurse -Force $target -ErrorAction Ignore
    New-Item -ItemType Directory -Force $target | Out-Null
    Copy-Item (Join-Path $ModuleOut '*') $target -Recurse
    Write-Step "Installed: Import-Module wsync"
}

function Invoke-Demo {
    Invoke-Install
    Write-Step 'Running the demo in a fresh pwsh'
    $pwsh = Get-PwshCommand
    & $pwsh[0] @($pwsh[1..($pwsh.Count - 1)] + @('-NoProfile', '-File', (Join-Path $Root 'examples/demo.ps1')))
    if ($LASTEXITCODE -ne 0) {
        throw "The demo failed with exit code $LASTEXITCODE"
    }
}

function Get-PwshCommand {
    # The pwsh running this script, as a command line: 'dotnet pwsh' for the local tool, or pwsh itself.
    $self = (Get-Process -Id $PID).Path
    if ([System.IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') {
        $pwshDll = [System.IO.Path]::Combine($PSHOME, 'pwsh.dll')
        return @($self, $pwshDll)
    }
    return @($self)
}

function Get-PesterModulePath {
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    $path = Join-Path $packages 'pester/6.2.0/tools/Pester.psd1'
    if (-not (Test-Path $path)) {
        throw "Pester 6.2.0 was not restored to $path"
    }
    $path
}

function Read-TrxCounts([string] $Path) {
    $counters = ([xml](Get-Content -Raw $Path)).TestRun.ResultSummary.Counters
    [pscustomobject]@{
        Passed  = [int]$counters.passed
        Failed  = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        Skipped = [int]$counters.notExecuted
    }
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

function Invoke-Test {
    Assert-SystemPackages -ForTests
    Invoke-Build
    $results = Join-Path $Out 'test-results'
    Remove-Item -Recurse -Force $results -ErrorAction Ignore
    New-Item -ItemType Directory -Force $results | Out-Null
    $marker = [guid]::NewGuid().ToString('n')
    $env:WSYNC_TEST_RUN = $marker
    $env:WSYNC_MODULE_PATH = Join-Path $ModuleOut 'wsync.psd1'
    $totals = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0 }

    try {
        # xunit and Pester run at the same time: both spend most of their time waiting on real processes
        # (rsync, sshd, daemons), so side by side they take little more than the longer of the two.
        Invoke-Native dotnet @('build', (Join-Path $Root 'tests/Wsync.TestSupport'), '-c', $Configuration, '--nologo', '-v', 'quiet')
        Invoke-Native dotnet @('build', (Join-Path $Root 'tests/Wsync.Tests'), '-c', $Configuration, '--nologo', '-v', 'quiet')
        $pesterResult = Join-Path $results 'pester.json'
        $pesterLog = Join-Path $results 'pester.log'
        $pwsh = Get-PwshCommand
        Write-Step "Pester (in the background; its output follows xunit's, and is in $pesterLog)"
        $pesterArguments = @($pwsh[1..($pwsh.Count - 1)] + @('-NoProfile', '-File', (Join-Path $Root 'tests/pester/Invoke-PesterRun.ps1'),
                '-PesterPath', (Get-PesterModulePath), '-ResultPath', $pesterResult))
        $pester = Start-ThreadJob -ScriptBlock {
            $command = $using:pwsh
            $arguments = $using:pesterArguments
            & $command[0] @arguments *> $using:pesterLog
        }

        Write-Step 'xunit'
        $trx = Join-Path $results 'xunit.trx'
        & dotnet test (Join-Path $Root 'tests/Wsync.Tests') -c $Configuration --nologo --no-build `
            --logger "trx;LogFileName=$trx" --logger 'console;verbosity=normal' --results-directory $results
        if (Test-Path $trx) {
            $counts = Read-TrxCounts $trx
            $totals.Passed += $counts.Passed; $totals.Failed += $counts.Failed; $totals.Skipped += $counts.Skipped
        }
        else {
            Write-Warning 'xunit wrote no results: counting the run as one failure.'
            $totals.Failed += 1
        }

        $pester | Wait-Job | Receive-Job -ErrorAction Continue
        $pester | Remove-Job
        Write-Step 'Pester'
        Get-Content $pesterLog -ErrorAction Ignore | Write-Host
        if (Test-Path $pesterResult) {
            $counts = Get-Content -Raw $pesterResult | ConvertFrom-Json
            $totals.Passed += $counts.Passed; $totals.Failed += $counts.Failed; $totals.Skipped += $counts.Skipped
        }
        else {
            Write-Warning 'Pester wrote no results: counting the run as one failure.'
            $totals.Failed += 1
        }
    }
    finally {
        # A child whose parent was just stopped (an rsync finishing its last write) may still be exiting: give
        # strays a few seconds to go by themselves; what is still there then was really left behind.
        $strayDeadline = [datetime]::UtcNow.AddSeconds(5)
        while (@(Get-MarkedProcesses $marker).Count -gt 0 -and [datetime]::UtcNow -lt $strayDeadline) {
            Start-Sleep -Milliseconds 100
        }

        $leaked = @(Get-MarkedProcesses $marker)
        if ($leaked.Count -gt 0) {
            # The state letter tells a stopped process (T) from a stuck (S, D) or spinning (R) one.
            $names = $leaked | ForEach-Object {
                $stat = Get-Content "/proc/$_/stat" -Raw -ErrorAction Ignore
                $state = if ($stat) { $stat.Substring($stat.LastIndexOf(')') + 2, 1) } else { '?' }
                "$_ [$state] ($(((Get-Content "/proc/$_/cmdline" -Raw -ErrorAction Ignore) -replace "`0", ' ').Trim()))"
            }
            Write-Warning "The tests left $($leaked.Count) processes running: $($names -join ', '). Killing them; counted as one failure."
            $leaked | ForEach-Object { Stop-Process -Id $_ -Force -ErrorAction Ignore }
            $totals.Failed += 1
        }
        Remove-Item Env:WSYNC_TEST_RUN, Env:WSYNC_MODULE_PATH -ErrorAction Ignore
    }

    $summary = "$($totals.Passed) passed, $($totals.Failed) failed, $($totals.Skipped) skipped"
    Write-Host ''
    Write-Host $summary
    if ($totals.Failed -gt 0) {
        exit 1
    }
}

function Invoke-Package {
    Invoke-Build -AllRuntimes
    $repository = Join-Path $Out 'repository'
    Remove-Item -Recurse -Force $repository -ErrorAction Ignore
    New-Item -ItemType Directory -Force $repository | Out-Null
    Write-Step "Publishing wsync $ModuleVersion into $repository"
    # PSResourceGet keeps repository registrations under HOME: use a throwaway one, never the user's.
    $scratchHome = Join-Path $Out 'package-home'
    Remove-Item -Recurse -Force $scratchHome -ErrorAction Ignore
    New-Item -ItemType Directory -Force $scratchHome | Out-Null
    $script = @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name wsync-local -Uri '$repository' -Trusted
Publish-PSResource -Path '$ModuleOut' -Repository wsync-local
"@
    $pwsh = Get-PwshCommand
    $previousHome = $env:HOME
    try {
        $env:HOME = $scratchHome
        & $pwsh[0] @($pwsh[1..($pwsh.Count - 1)] + @('-NoProfile', '-Command', $script))
        if ($LASTEXITCODE -ne 0) {
            throw "Publish-PSResource failed with exit code $LASTEXITCODE"
        }
    }
    finally {
        $env:HOME = $previousHome
        Remove-Item -Recurse -Force $scratchHome -ErrorAction Ignore
    }
    $package = Get-ChildItem $repository -Filter '*.nupkg' | Select-Object -First 1
    Write-Step "Package: $($package.FullName) ($([math]::Round($package.Length / 1MB, 1)) MB)"
}

function Invoke-Bench {
    Assert-SystemPackages -ForTests
    Invoke-Build
    $harness = Join-Path $Root 'tests/bench/Invoke-Benchmark.ps1'
    & $harness -ModulePath (Join-Path $ModuleOut 'wsync.psd1') @BenchArguments
}

function Invoke-Churn {
    Assert-SystemPackages -ForTests
    Invoke-Build
    Write-Step "Random churn: seeds $ChurnSeeds, $ChurnOperations operations a round"
    $env:WSYNC_CHURN_SEEDS = $ChurnSeeds
    $env:WSYNC_CHURN_OPERATIONS = $ChurnOperations
    try {
        & dotnet test (Join-Path $Root 'tests/Wsync.Tests') -c $Configuration --nologo --filter 'FullyQualifiedName~ChurnTests' `
            --logger 'console;verbosity=normal'
        if ($LASTEXITCODE -ne 0) {
            throw "Random churn failed: a failing seed's operations and the monitor's log are above; add the seed to ChurnTests.Regressions."
        }
    }
    finally {
        Remove-Item Env:WSYNC_CHURN_SEEDS, Env:WSYNC_CHURN_OPERATIONS -ErrorAction Ignore
    }
}

function Invoke-Clean {
    Write-Step 'Cleaning'
    Remove-Item -Recurse -Force $Out -ErrorAction Ignore
    Get-ChildItem $Root -Recurse -Directory -Include bin, obj |
        Where-Object { $_.FullName -notlike "$Root/.git*" } |
        Remove-Item -Recurse -Force -ErrorAction Ignore
}

Push-Location $Root
try {
    foreach ($name in $Task) {
        & "Invoke-$name"
    }
}
finally {
    Pop-Location
}
