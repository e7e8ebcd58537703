namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// The registry of open connections (<see cref="ConcurrentSlotSet{T}"/>): O(1) adds and removes that keep each item's
/// slot, an array that grows and shrinks, adds and removes from several threads at once, and enumerations running while
/// items come and go — every item present for a whole enumeration is visited exactly once, and none twice. Loops are
/// bounded in count; the concurrent tests assert outcomes, never timings.
/// </summary>
public sealed class ConcurrentSlotSetTests
{
    private sealed class Item(int id) : ISlotSetMember
    {
        public int Id { get; } = id;

        public int SetSlot { get; set; }

        public override string ToString() => $"item {Id}";
    }

    [Fact]
    public void Adds_and_removes_each_item_once()
    {
        var set = new ConcurrentSlotSet<Item>();
        var a = new Item(1);
        var b = new Item(2);

        Assert.True(set.Add(a));
        Assert.True(set.Add(b));
        Assert.False(set.Add(a)); // already in
        Assert.Equal(2, set.Count);
        Assert.Equal([1, 2], set.Select(i => i.Id).Order());

        Assert.True(set.Remove(a));
        Assert.False(set.Remove(a)); // already out
        Assert.Equal(0, a.SetSlot);
        Assert.Equal(1, set.Count);
        Assert.Same(b, Assert.Single(set));

        Assert.True(set.Add(a)); // back in, in the freed slot
        Assert.Equal(2, set.Count);
        Assert.Equal([1, 2], set.Select(i => i.Id).Order());
    }

    [Fact]
    public void An_item_is_in_one_set_at_a_time()
    {
        var first = new ConcurrentSlotSet<Item>();
        var second = new ConcurrentSlotSet<Item>();
        var item = new Item(1);
        var other = new Item(2);
        first.Add(item);
        second.Add(other); // the same slot number in the other set

        Assert.False(second.Add(item));
        Assert.False(second.Remove(item)); // its slot number there holds another item
        Assert.Same(other, Assert.Single(second));
        Assert.Same(item, Assert.Single(first));
    }

    [Fact]
    public void Growing_and_shrinking_keep_every_item_and_its_removal()
    {
        var set = new ConcurrentSlotSet<Item>();
        Item[] items = [.. Enumerable.Range(0, 1000).Select(i => new Item(i))];
        foreach (Item item in items)
        {
            Assert.True(set.Add(item));
        }

        // Remove all but every tenth: the array halves several times and packs the survivors into new slots.
        foreach (Item item in items.Where(i => i.Id % 10 != 0))
        {
            Assert.True(set.Remove(item));
        }

        Assert.Equal(100, set.Count);
        Assert.Equal(items.Where(i => i.Id % 10 == 0).Select(i => i.Id), set.Select(i => i.Id).Order());

        // The moved survivors are still removable through their new slots, and the set empties.
        foreach (Item item in items.Where(i => i.Id % 10 == 0))
        {
            Assert.True(set.Remove(item));
        }

        Assert.Equal(0, set.Count);
        Assert.Empty(set);
    }

    [Fact]
    public void An_enumeration_visits_every_present_item_once_across_removals_adds_and_a_shrink()
    {
        var set = new ConcurrentSlotSet<Item>();
        Item[] stable = [.. Enumerable.Range(0, 8).Select(i => new Item(i))];
        Item[] transient = [.. Enumerable.Range(100, 200).Select(i => new Item(i))];
        foreach (Item item in stable.Concat(transient))
        {
            set.Add(item);
        }

        var seen = new List<int>();
        ConcurrentSlotSet<Item>.Enumerator enumerator = set.GetEnumerator();
        for (int i = 0; i < 4 && enumerator.MoveNext(); i++)
        {
            seen.Add(enumerator.Current.Id);
        }

        // Mid-enumeration: the transient items leave (the array shrinks and the stable ones move), new items come.
        foreach (Item item in transient)
        {
            set.Remove(item);
        }

        Item[] added = [.. Enumerable.Range(1000, 50).Select(i => new Item(i))];
        foreach (Item item in added)
        {
            set.Add(item);
        }

        while (enumerator.MoveNext())
        {
            seen.Add(enumerator.Current.Id);
        }

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.All(stable, item => Assert.Single(seen, id => id == item.Id));
        Assert.Equal(58, set.Count);
    }

    [Fact]
    public async Task Adds_and_removes_from_several_threads_leave_exactly_the_items_not_removed()
    {
        const int Threads = 4;
        const int PerThread = 20_000;
        var set = new ConcurrentSlotSet<Item>();
        Item[][] kept = new Item[Threads][];

        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            var random = new Random(t);
            var mine = new List<Item>();
            for (int i = 0; i < PerThread; i++)
            {
                if (mine.Count > 0 && random.Next(3) == 0)
                {
                    int at = random.Next(mine.Count);
                    Assert.True(set.Remove(mine[at]));
                    mine[at] = mine[^1];
                    mine.RemoveAt(mine.Count - 1);
                }
                else
                {
                    var item = new Item((t * PerThread) + i);
                    Assert.True(set.Add(item));
                    mine.Add(item);
                }
            }

            kept[t] = [.. mine];
        }, TestContext.Current.CancellationToken)));

        int[] expected = [.. kept.SelectMany(k => k).Select(i => i.Id).Order()];
        Assert.Equal(expected.Length, set.Count);
        Assert.Equal(expected, set.Select(i => i.Id).Order());
        Assert.All(kept.SelectMany(k => k), item => Assert.True(set.Remove(item)));
        Assert.Equal(0, set.Count);
        Assert.Empty(set);
    }

    [Fact]
    public async Task Enumerations_during_concurrent_churn_visit_every_stable_item_once_and_nothing_twice()
    {
        const int ChurnThreads = 2;
        const int ChurnRounds = 30;
        const int Enumerations = 300;
        var set = new ConcurrentSlotSet<Item>();
        Item[] stable = [.. Enumerable.Range(0, 64).Select(i => new Item(i))];
        foreach (Item item in stable)
        {
            set.Add(item);
        }

        using var done = new CancellationTokenSource();
        Task[] churn = [.. Enumerable.Range(0, ChurnThreads).Select(t => Task.Run(() =>
        {
            // Fresh items every round (never one removed and added again), in waves large enough to grow the array
            // many times over and shrink it back.
            int next = 1_000_000 * (t + 1);
            for (int round = 0; round < ChurnRounds && !done.IsCancellationRequested; round++)
            {
                var wave = new List<Item>(2000);
                for (int i = 0; i < 2000; i++)
                {
                    var item = new Item(next++);
                    set.Add(item);
                    wave.Add(item);
                }

                foreach (Item item in wave)
                {
                    set.Remove(item);
                }
            }
        }, TestContext.Current.CancellationToken))];

        try
        {
            var seen = new HashSet<int>();
            for (int e = 0; e < Enumerations; e++)
            {
                seen.Clear();
                int stableSeen = 0;
                foreach (Item item in set)
                {
                    Assert.True(seen.Add(item.Id), $"{item} was visited twice in enumeration {e}");
                    if (item.Id < stable.Length)
                    {
                        stableSeen++;
                    }
                }

                Assert.Equal(stable.Length, stableSeen);
            }
        }
        finally
        {
            done.Cancel();
            await Task.WhenAll(churn);
        }

        Assert.Equal(stable.Length, set.Count);
    }
}
