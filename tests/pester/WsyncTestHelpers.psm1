# Shared by the Pester tests: a private wsync home per test file, the module under test, and
# stopping by pid everything the tests started.

$script:RepositoryRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:SupportAssembly = Join-Path $script:RepositoryRoot 'tests/Wsync.TestSupport/bin/Release/net10.0/Wsync.TestSupport.dll'

function Get-WsyncModulePath {
    if ($env:WSYNC_MODULE_PATH) { $env:WSYNC_MODULE_PATH } else { Join-Path $script:RepositoryRoot 'out/wsync/wsync.psd1' }
}

function Invoke-Pwsh {
    <# Runs a fresh pwsh like the one running the tests ('dotnet pwsh.dll' for the local tool). #>
    param([Parameter(ValueFromRemainingArguments)] [string[]] $ArgumentList)
    $executable = (Get-Process -Id $PID).Path
    $prefix = @(if ([System.IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    & $executable @prefix @ArgumentList
}

function Import-WsyncTestSupport {
    <# The C# harness shared with xunit: SshServer, TreeSnapshot, Poll. #>
    if (-not ('Wsync.TestSupport.SshServer' -as [type])) {
        Add-Type -Path $script:SupportAssembly
    }
}

function Start-TestSshServer([string] $Directory) {
    Import-WsyncTestSupport
    [Wsync.TestSupport.SshServer]::Start($Directory)
}

function Assert-Mirrored([string] $Expected, [string] $Actual) {
    <# Throws with every difference when the two trees differ (content, mode, link target, extra entries). #>
    Import-WsyncTestSupport
    $differences = [Wsync.TestSupport.TreeSnapshot]::Compare($Expected, $Actual, $null)
    if ($differences.Count -gt 0) {
        throw "$Actual differs from $Expected`n" + (($differences | Select-Object -First 30) -join "`n")
    }
}

function Initialize-WsyncTest {
    <# Creates a temp root with a wsync home in it, points WSYNC_HOME at it and imports the module. #>
    $root = Join-Path '/tmp' ("wp-" + [guid]::NewGuid().ToString('n').Substring(0, 10))
    New-Item -ItemType Directory -Path $root | Out-Null
    $env:WSYNC_HOME = Join-Path $root 'home'
    Import-Module (Get-WsyncModulePath) -Force -Global
    $root
}

function Get-WsyncTestProcessIds {
    <# The daemon of the current home and its monitors. #>
    $daemon = Get-WsyncDaemon -ErrorAction Ignore
    if (-not $daemon.Running) {
        return @()
    }
    @($daemon.ProcessId) + @(Get-ChildProcessId $daemon.ProcessId)
}

function Get-ChildProcessId([int] $ParentId) {
    foreach ($stat in Get-ChildItem /proc/*/stat -ErrorAction Ignore) {
        try {
            $text = [System.IO.File]::ReadAllText($stat.FullName)
        }
        catch {
            continue
        }
        $fields = $text.Substring($text.LastIndexOf(')') + 2).Split(' ')
        if ([int]$fields[1] -eq $ParentId) {
            [int]$stat.Directory.Name
        }
    }
}

function Test-ProcessAlive([int] $ProcessId) {
    try {
        $text = [System.IO.File]::ReadAllText("/proc/$ProcessId/stat")
    }
    catch {
        return $false
    }
    $state = $text.Substring($text.LastIndexOf(')') + 2).Split(' ')[0]
    $state -notin 'Z', 'X'
}

function Wait-Until {
    <# Polls a condition with a deadline: the only way tests wait. #>
    param([scriptblock] $Condition, [int] $TimeoutSec = 20, [string] $Because = 'the condition')
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    while (-not (& $Condition)) {
        if ($clock.Elapsed.TotalSeconds -gt $TimeoutSec) {
            throw "Timed out after $TimeoutSec s waiting for $Because."
        }
        Start-Sleep -Milliseconds 20
    }
}

function Clear-WsyncTest([string] $Root) {
    <# Stops the daemon and its monitors of the current home by pid, then removes the temp root. #>
    $pids = @(Get-WsyncTestProcessIds)
    Stop-WsyncDaemon -ErrorAction Ignore -Confirm:$false
    foreach ($id in $pids) {
        try {
            Wait-Until { -not (Test-ProcessAlive $id) } -TimeoutSec 10 -Because "process $id to exit"
        }
        catch {
            Stop-Process -Id $id -Force -ErrorAction Ignore
        }
    }
    Remove-Item Env:WSYNC_HOME -ErrorAction Ignore
    if ($Root) {
        Remove-Item -Recurse -Force $Root -ErrorAction Ignore
    }
}

Export-ModuleMember -Function *
