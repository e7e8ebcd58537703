using System.Collections;

namespace AspNetWebSockets;

/// <summary>
/// A set of objects that know their own slot (<see cref="ISlotSetMember"/>): an array of references, a stack of free
/// slots, and a lock for adding and removing. An item costs its slot (8 bytes; the array is between a quarter full and
/// full), a free slot 4 bytes more while it waits on the stack, and the item's own slot number, where a
/// <c>ConcurrentDictionary</c> costs a 40-byte node and a bucket. It holds this node's open connections (one per
/// connection, added once and removed once) and each group's members. Enumeration runs in slot order, which is the order
/// of adding as long as no slot was freed and reused.
/// </summary>
/// <remarks>
/// <para>
/// Adding and removing take the lock and are O(1) (amortised: the array doubles when full and halves when a quarter
/// full). Enumerating takes no lock and no snapshot, and allocates nothing in a <c>foreach</c>: it walks the array that
/// was current when it started. An item never moves within an array (a removal leaves a null that a later add reuses);
/// growing and shrinking copy the items into a new array and leave the old one as it was, so an enumeration that started
/// on the old array goes on over a frozen copy. Hence, for an enumeration running while items come and go:
/// </para>
/// <list type="bullet">
/// <item>every item present for the whole enumeration is visited exactly once;</item>
/// <item>an item added or removed during it may or may not be visited;</item>
/// <item>no item is visited twice, unless it was removed and added again during the enumeration.</item>
/// </list>
/// </remarks>
internal sealed class ConcurrentSlotSet<T> : IEnumerable<T>
    where T : class, ISlotSetMember
{
    private const int MinCapacity = 16;

    private readonly Lock _gate = new();
    private T?[] _slots = new T?[MinCapacity];
    private int[] _free = new int[MinCapacity]; // a stack of the null slots below _used
    private int _freeCount;
    private int _used; // slots [0, _used) were handed out; the rest of the array was never used
    private int _count;

    /// <summary>How many items the set holds at this moment.</summary>
    /// <remarks>
    /// Not named <c>Count</c> on purpose: a collection expression over the set (<c>[.. set]</c>) would take a <c>Count</c>
    /// for the number of items its enumeration yields and size its array by it, leaving nulls at the end (or failing)
    /// when items leave (or come) in between. Without one it collects what the enumeration yields.
    /// </remarks>
    public int CurrentCount => Volatile.Read(ref _count);

    /// <summary>Adds <paramref name="item"/>; false when it is already in a set (this one or another).</summary>
    public bool Add(T item)
    {
        lock (_gate)
        {
            if (item.SetSlot != 0)
            {
                return false;
            }

            int slot;
            if (_freeCount > 0)
            {
                slot = _free[--_freeCount];
            }
            else
            {
                if (_used == _slots.Length)
                {
                    Resize(_slots.Length * 2);
                }

                slot = _used++;
            }

            item.SetSlot = slot + 1;
            Volatile.Write(ref _slots[slot], item); // an enumeration that sees the item sees it whole
            _count++;
            return true;
        }
    }

    /// <summary>Removes <paramref name="item"/>; false when this set does not hold it.</summary>
    public bool Remove(T item)
    {
        lock (_gate)
        {
            int slot = item.SetSlot - 1;
            if ((uint)slot >= (uint)_used || !ReferenceEquals(_slots[slot], item))
            {
                return false;
            }

            Volatile.Write(ref _slots[slot], null);
            item.SetSlot = 0;
            _count--;
            if (_count < _slots.Length / 4 && _slots.Length > MinCapacity)
            {
                Resize(_slots.Length / 2); // also forgets the free slots: the items are packed at the front
            }
            else
            {
                if (_freeCount == _free.Length)
                {
                    Array.Resize(ref _free, _free.Length * 2);
                }

                _free[_freeCount++] = slot;
            }

            return true;
        }
    }

    /// <summary>
    /// Copies the items, packed and in slot order, into a new array of <paramref name="capacity"/> slots and publishes it.
    /// The old array is never written again (enumerations on it see it as it was). Called under the lock.
    /// </summary>
    private void Resize(int capacity)
    {
        var slots = new T?[capacity];
        int packed = 0;
        for (int i = 0; i < _used; i++)
        {
            if (_slots[i] is { } item)
            {
                slots[packed] = item;
                item.SetSlot = ++packed;
            }
        }

        _used = packed;
        _freeCount = 0;
        if (_free.Length > capacity)
        {
            _free = new int[Math.Max(MinCapacity, capacity / 2)];
        }

        Volatile.Write(ref _slots, slots);
    }

    /// <summary>Enumerates the items with the guarantees in the remarks of <see cref="ConcurrentSlotSet{T}"/>, without allocating.</summary>
    public Enumerator GetEnumerator() => new(Volatile.Read(ref _slots));

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Walks one array of the set, skipping its empty slots.</summary>
    public struct Enumerator : IEnumerator<T>
    {
        private readonly T?[] _slots;
        private int _index;
        private T? _current;

        internal Enumerator(T?[] slots)
        {
            _slots = slots;
            _index = -1;
            _current = null;
        }

        public readonly T Current => _current!;

        readonly object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            T?[] slots = _slots;
            while (++_index < slots.Length)
            {
                if (Volatile.Read(ref slots[_index]) is { } item)
                {
                    _current = item;
                    return true;
                }
            }

            _index = slots.Length;
            _current = null;
            return false;
        }

        public void Reset()
        {
            _index = -1;
            _current = null;
        }

        public readonly void Dispose()
        {
        }
    }
}
