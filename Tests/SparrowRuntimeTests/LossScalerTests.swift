import Testing
import SparrowRuntime

@Suite struct LossScalerTests {
    @Test func dynamicScalingBacksOffAndGrows() {
        var s = LossScaler(mode: .dynamic(growthInterval: 3, minimum: 1, maximum: 1024), initial: 300)
        #expect(s.scale == 256)                       // rounded down to a power of two
        let first = s.record(overflow: true)
        #expect(first == false)                       // skipped, halved
        #expect(s.scale == 128 && s.skippedSteps == 1)
        for _ in 0..<3 {
            let applied = s.record(overflow: false)
            #expect(applied)
        }
        #expect(s.scale == 256 && s.appliedSteps == 3)
        #expect(s.gradientFactor * s.scale == 1)
        for _ in 0..<20 { _ = s.record(overflow: false) }
        #expect(s.scale == 1024)                      // capped
        for _ in 0..<20 { _ = s.record(overflow: true) }
        #expect(s.scale == 1 && s.skippedSteps == 21) // floored
    }

    @Test func staticScalingNeverChangesButStillSkips() {
        var s = LossScaler(mode: .static, initial: 512)
        let applied = s.record(overflow: true)
        #expect(applied == false)
        for _ in 0..<5000 { _ = s.record(overflow: false) }
        #expect(s.scale == 512 && s.skippedSteps == 1 && s.appliedSteps == 5000)
    }
}
