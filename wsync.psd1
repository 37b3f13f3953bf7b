@{
    RootModule             = 'Wsync.Commands.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '347a2f70-a8ed-4a6e-8b75-88fde599c08b'
    Author                 = 'The wsync authors'
    CompanyName            = 'The wsync authors'
    Copyright              = '(c) 2026 The wsync authors. MIT License.'
    Description            = 'Mirror local workspaces to remote machines in real time: every create, modify, delete, rename, chmod and symlink reaches each attached remote (ssh host or local directory) within milliseconds, through crashes, network cuts and reboots. A per-user daemon, one inotify+rsync monitor per workspace, and cmdlets that return objects.'
    PowerShellVersion      = '7.6'
    CompatiblePSEditions   = @('Core')
    RequiredAssemblies     = @('Wsync.Platform.dll', 'Wsync.Protocol.dll')
    FormatsToProcess       = @('wsync.Format.ps1xml')
    CmdletsToExport        = @(
        'Start-WsyncDaemon', 'Stop-WsyncDaemon', 'Get-WsyncDaemon', 'Register-WsyncDaemon', 'Unregister-WsyncDaemon',
        'Add-WsyncWorkspace', 'Get-WsyncWorkspace', 'Remove-WsyncWorkspace',
        'Connect-WsyncRemote', 'Disconnect-WsyncRemote', 'Get-WsyncRemote',
        'Sync-WsyncWorkspace', 'Wait-WsyncWorkspace', 'Suspend-WsyncWorkspace', 'Resume-WsyncWorkspace',
        'Watch-WsyncWorkspace', 'Get-WsyncLog'
    )
    FunctionsToExport      = @()
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('sync', 'mirror', 'rsync', 'ssh', 'inotify', 'workspace', 'remote-development', 'PSEdition_Core', 'Linux')
            ProjectUri   = 'https://github.com/wsync/wsync'
            LicenseUri   = 'https://github.com/wsync/wsync/blob/main/LICENSE'
            ReleaseNotes = 'See CHANGELOG.md.'
        }
    }
}
