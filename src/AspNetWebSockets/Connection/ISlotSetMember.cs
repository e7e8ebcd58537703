namespace AspNetWebSockets;

/// <summary>
/// An item of a <see cref="ConcurrentSlotSet{T}"/>: it carries its own slot number, so the set needs no node or hash
/// bucket per item and removes it in O(1). An item belongs to at most one set at a time.
/// </summary>
internal interface ISlotSetMember
{
    /// <summary>
    /// One more than the item's slot in the set that holds it; 0 (the default of a new object's field) while in none.
    /// Read and written only by the set, under its lock.
    /// </summary>
    int SetSlot { get; set; }
}
