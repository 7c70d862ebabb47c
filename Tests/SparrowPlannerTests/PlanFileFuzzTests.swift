import Foundation
import SparrowAutodiff
import SparrowIR
import SparrowPlanner
import Testing

/// Mutated plan files decode or throw `PlanFileError` — never trap — and whatever
/// decodes is a sound plan. (Typed throws make "only PlanFileError" a compile-time
/// fact; these tests check the "never trap" and "sound" halves.)
@Suite struct PlanFileFuzzTests {
    /// Numbers a mutation puts in place of an integer: edges, near misses, overflow bait.
    static func number(near v: Int, _ rng: inout SeededGenerator) -> Int {
        let choices = [-1, 0, 1, v + 1, v - 1, v + 16, v - 16, v &* 2, v / 2, Int.max, Int.min, 1 << 40, 1 << 62, 65_536,
                       rng.nextInt(below: 4096)]
        return choices[rng.nextInt(below: choices.count)]
    }

    /// Applies `f` to the `target`-th value of `v` in pre-order (counting down `target`);
    /// `f` returning nil deletes the value from its object or array.
    static func transform(_ v: JSONValue, _ target: inout Int, _ f: (JSONValue) -> JSONValue?) -> JSONValue? {
        if target == 0 { target -= 1; return f(v) }
        target -= 1
        switch v {
        case .array(let items):
            var out: [JSONValue] = []
            for item in items {
                if target < 0 { out.append(item); continue }
                if let t = transform(item, &target, f) { out.append(t) }
            }
            return .array(out)
        case .object(let fields):
            var out: [String: JSONValue] = [:]
            for key in fields.keys.sorted() {
                if target < 0 { out[key] = fields[key]; continue }
                if let t = transform(fields[key]!, &target, f) { out[key] = t }
            }
            return .object(out)
        default:
            return v
        }
    }

    static func count(_ v: JSONValue) -> Int {
        switch v {
        case .array(let items): return 1 + items.reduce(0) { $0 + count($1) }
        case .object(let fields): return 1 + fields.values.reduce(0) { $0 + count($1) }
        default: return 1
        }
    }

    static func strings(_ v: JSONValue, into out: inout [String]) {
        switch v {
        case .string(let s): out.append(s)
        case .array(let items): for i in items { strings(i, into: &out) }
        case .object(let fields): for (k, x) in fields { out.append(k); strings(x, into: &out) }
        default: break
        }
    }

    /// One random corruption of a plan file, in bytes or in its JSON structure.
    static func mutate(_ bytes: [UInt8], _ root: JSONValue, _ rng: inout SeededGenerator) -> [UInt8] {
        var target = rng.nextInt(below: count(root))
        var words: [String] = []
        strings(root, into: &words)
        let kind = rng.nextInt(below: 9)
        var mutated = root
        switch kind {
        case 0:
            return Array(bytes.prefix(rng.nextInt(below: bytes.count)))
        case 1:
            var out = bytes
            for _ in 0...rng.nextInt(below: 3) { out[rng.nextInt(below: out.count)] ^= UInt8(1) << UInt8(rng.nextInt(below: 8)) }
            return out
        case 2:  // delete a value (a key of an object, an element of an array)
            mutated = transform(root, &target) { _ in nil } ?? root
        case 3, 4:  // change an integer, anywhere in the document
            let isInt: (JSONValue) -> Bool = { if case .int = $0 { return true } else { return false } }
            let total = countMatching(root, isInt)
            guard total > 0 else { return bytes }
            let which = rng.nextInt(below: total)
            var choice = 0
            _ = editNth(root, isInt, which) { v in if case .int(let i) = v { choice = i }; return v }
            let replacement = number(near: choice, &rng)
            mutated = editNth(root, isInt, which) { _ in .int(replacement) }
        case 5:  // change a string value
            let isString: (JSONValue) -> Bool = { if case .string = $0 { return true } else { return false } }
            let total = countMatching(root, isString)
            guard total > 0 else { return bytes }
            let replacement = rng.nextInt(below: 4) == 0 ? "" : words[rng.nextInt(below: words.count)]
            mutated = editNth(root, isString, rng.nextInt(below: total)) { _ in .string(replacement) }
        case 6:  // change a value's kind
            let kinds: [JSONValue] = [.null, .bool(true), .array([]), .object([:]), .double(1.5), .string("x"), .int(0)]
            let k = kinds[rng.nextInt(below: kinds.count)]
            mutated = transform(root, &target) { _ in k } ?? root
        default:  // swap, duplicate or drop schedule entries
            guard case .object(var o) = root, case .array(var s)? = o["schedule"], s.count > 1 else { return bytes }
            let a = rng.nextInt(below: s.count), b = rng.nextInt(below: s.count)
            switch rng.nextInt(below: 3) {
            case 0: s.swapAt(a, b)
            case 1: s.insert(s[a], at: b)
            default: s.remove(at: a)
            }
            o["schedule"] = .array(s)
            mutated = .object(o)
        }
        return Array(mutated.serialized(pretty: rng.nextInt(below: 2) == 0).utf8)
    }

    static func countMatching(_ v: JSONValue, _ pred: (JSONValue) -> Bool) -> Int {
        switch v {
        case .array(let items): return items.reduce(0) { $0 + countMatching($1, pred) }
        case .object(let fields): return fields.values.reduce(0) { $0 + countMatching($1, pred) }
        default: return pred(v) ? 1 : 0
        }
    }

    /// Applies `f` to the `n`-th scalar matching `pred`, objects' values in key order (so the numbering is stable).
    static func editNth(_ v: JSONValue, _ pred: (JSONValue) -> Bool, _ n: Int, _ f: (JSONValue) -> JSONValue) -> JSONValue {
        var k = 0
        func walk(_ v: JSONValue) -> JSONValue {
            switch v {
            case .array(let items): return .array(items.map(walk))
            case .object(let fields):
                var out: [String: JSONValue] = [:]
                for key in fields.keys.sorted() { out[key] = walk(fields[key]!) }
                return .object(out)
            default:
                guard pred(v) else { return v }
                defer { k += 1 }
                return k == n ? f(v) : v
            }
        }
        return walk(v)
    }

    @Test func mutatedPlansDecodeOrThrow() throws {
        // SPARROW_PLAN_FUZZ_ROUNDS and SPARROW_PLAN_FUZZ_SEED run a longer or another campaign.
        let env = ProcessInfo.processInfo.environment
        let rounds = env["SPARROW_PLAN_FUZZ_ROUNDS"].flatMap { Int($0) } ?? 300
        let seed = env["SPARROW_PLAN_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_240_611
        print("plan fuzz seed \(seed)")
        var rng = SeededGenerator(seed: seed)
        let sources = [try PlanSamples.golden(),
                       try PlanSamples.plan(try PlanSamples.mobile(), spec: PlanSamples.specs[3].1, optimizer: .defaultAdam)]
        let files = try sources.map { p in let b = Array(p.encodedJSON()); return (b, try JSONParser.parse(b)) }
        var decoded = 0, rejected = 0
        for round in 0..<rounds {
            let (bytes, root) = files[round % files.count]
            let mutated = Self.mutate(bytes, root, &rng)
            do {
                let p = try TrainingPlan(decoding: Data(mutated), file: "fuzz-\(round).json")
                decoded += 1
                #expect(throws: Never.self, "round \(round)") { try verifyMemoryPlan(p.memory, for: p.graph) }
                #expect(try TrainingPlan(decoding: p.encodedJSON(), file: "again") == p, "round \(round)")
            } catch {
                rejected += 1
                #expect(error.file == "fuzz-\(round).json")
                #expect(error.description.hasPrefix("fuzz-\(round).json"))
            }
        }
        print("plan fuzz: \(decoded) decoded, \(rejected) rejected")
        #expect(rejected > rounds / 2)
    }
}
