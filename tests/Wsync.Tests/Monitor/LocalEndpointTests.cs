using Wsync.Monitor.Sync;
using Wsync.TestSupport;

namespace Wsync.Tests.Monitor;

/// <summary>
/// Replaying renames in a local mirror is an optimisation: rsync, which lists both names of every rename,
/// makes the mirror right whatever the replay did. So a rename that cannot be replayed is skipped, and
/// never fails the batch (a failed batch once lost its changes, leaving moved-from directories behind).
/// </summary>
public sealed class LocalEndpointTests : IDisposable
{
    private readonly TempDirectory temp = new("le");

    [Fact]
    public async Task Renames_that_cannot_be_replayed_are_skipped_and_the_rest_applied_in_order()
    {
        var mirror = temp.CreateDirectory("mirror");
        File.WriteAllText(Path.Combine(mirror, "file"), "a file where the workspace now has a directory");
        Directory.CreateDirectory(Path.Combine(mirror, "full/inner"));
        Directory.CreateDirectory(Path.Combine(mirror, "moving"));
        File.WriteAllText(Path.Combine(mirror, "moving/kept"), "1");
        File.WriteAllText(Path.Combine(mirror, "second"), "2");
        await using var endpoint = new LocalEndpoint(mirror);
        await endpoint.ConnectAsync(CancellationToken.None);

        await endpoint.MoveAsync(
        [
            new PendingMove("moving", "file/below-a-file", IsDirectory: true), // a parent is a file: skipped
            new PendingMove("gone", "anywhere", IsDirectory: false), // the source is not there: skipped
            new PendingMove("second", "full", IsDirectory: false), // onto a directory: left to rsync
            new PendingMove("moving", "new/parents/moved", IsDirectory: true), // parents made, then renamed
            new PendingMove("second", "renamed", IsDirectory: false),
        ], CancellationToken.None);

        Assert.Equal("a file where the workspace now has a directory", File.ReadAllText(Path.Combine(mirror, "file")));
        Assert.True(Directory.Exists(Path.Combine(mirror, "full/inner")));
        Assert.Equal("1", File.ReadAllText(Path.Combine(mirror, "new/parents/moved/kept")));
        Assert.Equal("2", File.ReadAllText(Path.Combine(mirror, "renamed")));
        Assert.False(Directory.Exists(Path.Combine(mirror, "moving")));
        Assert.False(File.Exists(Path.Combine(mirror, "second")));
    }

    [Fact]
    public async Task Renames_by_names_that_are_not_UTF8_are_replayed_by_their_bytes()
    {
        var mirror = temp.CreateDirectory("mirror");
        var latin1 = RawFiles.FromBytes([(byte)'n', 0xE9]);
        RawFiles.MakeDirectory(Path.Combine(mirror, latin1));
        RawFiles.WriteAll(Path.Combine(mirror, latin1, latin1), "x"u8.ToArray());
        await using var endpoint = new LocalEndpoint(mirror);

        await endpoint.MoveAsync([new PendingMove(latin1, "plain", IsDirectory: true)], CancellationToken.None);

        Assert.Equal('f', RawFiles.Status(Path.Combine(mirror, "plain", latin1))?.Kind);
    }

    public void Dispose() => temp.Dispose();
}
