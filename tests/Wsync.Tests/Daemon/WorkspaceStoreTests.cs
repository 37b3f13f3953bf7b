using Wsync.Daemon;
using Wsync.TestSupport;

namespace Wsync.Tests.Daemon;

public sealed class WorkspaceStoreTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private static WorkspaceDefinition Workspace(string name, params RemoteDefinition[] remotes) => new()
    {
        Id = Guid.NewGuid(),
        Name = name,
        Path = "/src/" + name,
        Exclude = ["*.o"],
        Created = DateTimeOffset.UnixEpoch,
        Remotes = remotes,
    };

    private static RemoteDefinition Remote(string name, string destination) => new()
    {
        Id = Guid.NewGuid(),
        Name = name,
        Destination = destination,
        SshOptions = ["ServerAliveInterval=5"],
    };

    [Fact]
    public void A_missing_file_is_created_as_an_empty_private_array()
    {
        var store = new WorkspaceStore(temp.Combine("ws.json"));

        Assert.Empty(store.LoadOrCreate());

        Assert.Equal("[]", File.ReadAllText(store.FilePath).Trim());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath));
    }

    [Fact]
    public void What_is_saved_reads_back_equal()
    {
        var store = new WorkspaceStore(temp.Combine("ws.json"));
        var saved = new[] { Workspace("web", Remote("b1", "me@b1:/srv/web"), Remote("disk", "/mnt/disk")), Workspace("api") };

        store.Save(saved);
        var loaded = store.LoadOrCreate();

        Assert.Equal(WorkspaceStore.Serialize(saved), WorkspaceStore.Serialize(loaded));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath));
    }

    [Fact]
    public void Lists_the_file_omits_are_empty()
    {
        var store = new WorkspaceStore(temp.Combine("ws.json"));
        File.WriteAllText(store.FilePath,
            "[{\"Id\":\"8f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"x\",\"Path\":\"/x\"}," +
            "{\"Id\":\"9f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"y\",\"Path\":\"/y\"," +
            "\"Remotes\":[{\"Id\":\"af0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"r\",\"Destination\":\"/mnt/r\"}]}]");

        var loaded = store.LoadOrCreate();

        Assert.Empty(loaded[0].Exclude);
        Assert.Empty(loaded[0].Remotes);
        Assert.Empty(loaded[1].Exclude);
        Assert.Empty(Assert.Single(loaded[1].Remotes).SshOptions);
    }

    [Fact]
    public void Saving_keeps_the_previous_file_as_a_backup_and_leaves_no_temporary_file()
    {
        var store = new WorkspaceStore(temp.Combine("ws.json"));
        store.Save([Workspace("one")]);
        var first = File.ReadAllText(store.FilePath);

        store.Save([Workspace("two")]);

        Assert.Equal(first, File.ReadAllText(store.FilePath + ".bak"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath + ".bak"));
        Assert.Equal(["ws.json", "ws.json.bak"], Directory.GetFiles(temp.Path).Select(Path.GetFileName).Order());
    }

    [Theory]
    [InlineData("[ { \"Id\": ", "line 1")]
    [InlineData("[\n  {\n    \"Id\": \"not-a-guid\", \"Name\": \"x\", \"Path\": \"/x\"\n  }\n]", "line 3")]
    [InlineData("[{\"Id\":\"8f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"x\",\"Path\":\"/x\",\"Colour\":\"blue\"}]", "Colour")]
    [InlineData("[{\"Id\":\"8f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Path\":\"/x\"}]", "Name")]
    [InlineData("{}", "line 1")]
    [InlineData("null", "null")]
    [InlineData("[{\"Id\":\"8f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"x\",\"Path\":\"/x\"},{\"Id\":\"8f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"y\",\"Path\":\"/y\"}]", "repeats the id")]
    [InlineData("[{\"Id\":\"8f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"x\",\"Path\":\"/x\"},{\"Id\":\"9f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"X\",\"Path\":\"/y\"}]", "repeats the name")]
    [InlineData("[{\"Id\":\"8f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"x\",\"Path\":\"rel\"}]", "relative path")]
    [InlineData("[{\"Id\":\"8f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"x\",\"Path\":\"/x\",\"Remotes\":[{\"Id\":\"9f0c7bb4-49a2-4fb1-9a5c-64b1a4d0d5a1\",\"Name\":\"r\",\"Destination\":\"host:\"}]}]", "no path after the colon")]
    public void A_damaged_file_is_refused_with_its_name_and_the_place_and_is_left_untouched(string content, string expected)
    {
        var path = temp.Combine("ws.json");
        File.WriteAllText(path, content);

        var error = Assert.Throws<WorkspaceFileException>(() => new WorkspaceStore(path).LoadOrCreate());

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
        Assert.Equal(content, File.ReadAllText(path));
    }
}
