/// The sooner of two optional moments (nil: no moment), for combining "look again at" times.
public func earliest(_ a: Millis?, _ b: Millis?) -> Millis? {
    switch (a, b) {
    case (nil, let x), (let x, nil): return x
    case (let x?, let y?): return min(x, y)
    }
}
