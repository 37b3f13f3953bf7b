using System.Collections.ObjectModel;

namespace Wsync;

/// <summary>
/// A read-only list that reads as text: its items (or what <c>text</c> picks from each) joined by ", ".
/// The records' list properties use it so that Export-Csv (and anything else that calls ToString) shows
/// <c>disk, ssh-a</c> rather than <c>System.Collections.Generic.List`1[Wsync.Remote]</c>; JSON (the wire,
/// ConvertTo-Json) still sees a plain array.
/// </summary>
public sealed class TextList<T> : ReadOnlyCollection<T>
{
    /// <summary>What separates the items in <see cref="ToString"/>: a comma and a space, as PowerShell writes arrays in messages.</summary>
    public const string Separator = ", ";

    /// <summary>Picks the text of one item (a remote's name); null uses the item's own ToString.</summary>
    private readonly Func<T, string?>? text;

    public TextList(IEnumerable<T>? items, Func<T, string?>? text = null)
        : base(items?.ToList() ?? [])
    {
        this.text = text;
    }

    /// <summary>The empty list the records start with.</summary>
    public static TextList<T> None { get; } = new([]);

    public override string ToString() => string.Join(Separator, this.Select(item => text is null ? item?.ToString() : text(item)));
}
