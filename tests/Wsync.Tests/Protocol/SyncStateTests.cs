namespace Wsync.Tests.Protocol;

/// <summary>An event's states are one enum for remotes and workspaces alike: every state of either has its name there.</summary>
public sealed class SyncStateTests
{
    [Fact]
    public void Every_remote_and_workspace_state_is_a_sync_state_of_the_same_name()
    {
        foreach (var state in Enum.GetValues<RemoteState>())
        {
            Assert.Equal(state.ToString(), SyncStates.Of(state).ToString());
        }

        foreach (var state in Enum.GetValues<WorkspaceState>())
        {
            Assert.Equal(state.ToString(), SyncStates.Of(state).ToString());
        }

        var names = Enum.GetNames<RemoteState>().Concat(Enum.GetNames<WorkspaceState>()).ToHashSet();
        Assert.All(Enum.GetNames<SyncState>(), name => Assert.Contains(name, names));
    }
}
