import Foundation

/// A bounded, blocking queue between one producer thread and one consumer thread, which either
/// side may cancel: the producer waits while it is full, so memory stays bounded; after
/// `cancel`, `put` throws and `take` returns nil, and what was queued is dropped.
public final class BoundedQueue<Element>: @unchecked Sendable {
    let capacity: Int
    /// Guards `items` and `cancelled`.
    let condition = NSCondition()
    var items: [Element] = []
    var cancelled = false

    public init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; throws `CancellationError` once the queue is cancelled.
    public func put(_ item: Element) throws {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { throw CancellationError() }
        items.append(item)
        condition.broadcast()
    }

    /// Waits for the next item; nil once the queue is cancelled.
    public func take() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !cancelled { condition.wait() }
        if cancelled { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    /// The next item if there is one, without waiting.
    public func poll() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        guard !cancelled, !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    /// Drops what is queued and wakes both sides; idempotent.
    public func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
