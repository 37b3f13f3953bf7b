<#
.SYNOPSIS
    The main job on its embedded default: mirror a workspace to a local directory and watch a file land.

.DESCRIPTION
    Uses the installed wsync module and your real wsync home (~/.wsync). It creates ~/wsync-demo/workspace
    and ~/wsync-demo/mirror, attaches the mirror, writes a file, and shows it arriving. The workspace stays
    mirrored afterwards; to undo: Remove-WsyncWorkspace wsync-demo; Stop-WsyncDaemon.
#>
$ErrorActionPreference = 'Stop'
Import-Module wsync

$base = Join-Path $HOME 'wsync-demo'
$workspacePath = Join-Path $base 'workspace'
$mirrorPath = Join-Path $base 'mirror'
New-Item -ItemType Directory -Force $workspacePath, $mirrorPath | Out-Null
Set-Content (Join-Path $workspacePath 'README.txt') 'This directory is mirrored by wsync.'

Write-Host "`n== The workspace" -ForegroundColor Green
$workspace = Get-WsyncWorkspace wsync-demo -ErrorAction Ignore
if (-not $workspace) {
    $workspace = Add-WsyncWorkspace $workspacePath -Name wsync-demo -Exclude '*.tmp'
}
$workspace | Format-Table Name, State, Path, Exclude

Write-Host "== The remote: a local directory (an ssh host works the same: me@host:/srv/demo)" -ForegroundColor Green
$remote = Get-WsyncRemote wsync-demo -Name mirror -ErrorAction Ignore
if (-not $remote) {
    $remote = Connect-WsyncRemote wsync-demo $mirrorPath
}
$remote | Format-Table Workspace, Name, State, Destination

Write-Host "== A file written in the workspace..." -ForegroundColor Green
$stamp = Get-Date -Format 'yyyy-MM-dd HH:mm:ss.fff'
$file = Join-Path $workspacePath 'hello.txt'
$clock = [System.Diagnostics.Stopwatch]::StartNew()
Set-Content $file "hello from wsync, written at $stamp"
Wait-WsyncWorkspace wsync-demo -TimeoutSec 30
$clock.Stop()

$landed = Join-Path $mirrorPath 'hello.txt'
if (-not (Test-Path $landed) -or (Get-Content $landed) -ne "hello from wsync, written at $stamp") {
    throw "hello.txt did not land on the mirror $mirrorPath"
}
Write-Host "== ...is on the mirror $([int]$clock.Elapsed.TotalMilliseconds) ms later:" -ForegroundColor Green
Get-ChildItem $mirrorPath | Format-Table Mode, Length, Name
Write-Host "$landed says: $(Get-Content $landed)"

Write-Host "`n== Status" -ForegroundColor Green
Get-WsyncWorkspace wsync-demo | Format-Table
Get-WsyncRemote wsync-demo | Format-Table
Write-Host "The workspace stays mirrored. Edit $workspacePath and watch $mirrorPath."
Write-Host "To undo: Remove-WsyncWorkspace wsync-demo; Stop-WsyncDaemon"
