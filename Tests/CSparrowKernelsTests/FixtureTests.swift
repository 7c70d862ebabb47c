import CSparrowKernels
import Foundation
import Testing

/// Tests/Fixtures/kernels_conv_reference.json, written by tools/reference_kernels.py
/// (numpy, float64, from the definitions): a reference independent of both the C
/// kernels and this target's Swift reference.
struct ConvFixture: Decodable {
    struct Shape: Decodable {
        var in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, stride_h, stride_w, pad_top, pad_left, groups: Int32
    }

    struct Case: Decodable {
        var name: String
        var seed: Int
        var shape: Shape
        var x, w, b, dy: [Double]
        var y, dx, dw, db: [Double]
    }

    var cases: [Case]

    static func load() throws -> ConvFixture {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.appendingPathComponent("Tests/Fixtures/kernels_conv_reference.json")
        return try JSONDecoder().decode(ConvFixture.self, from: Data(contentsOf: url))
    }
}

extension ConvFixture.Shape {
    var c: sp_conv2d_shape {
        sp_conv2d_shape(in_h: in_h, in_w: in_w, in_c: in_c, out_h: out_h, out_w: out_w, out_c: out_c,
                        k_h: k_h, k_w: k_w, stride_h: stride_h, stride_w: stride_w,
                        pad_top: pad_top, pad_left: pad_left, groups: groups)
    }
}

/// The largest magnitude in `v`, at least 1: the scale of a tensor-wide tolerance.
func magnitude(_ v: [Double]) -> [Double] {
    let m = max(1, v.map(abs).max() ?? 1)
    return [Double](repeating: m, count: v.count)
}

@Suite("numpy conv fixture")
struct FixtureTests {
    @Test func kernelsMatchNumpy() throws {
        let fixture = try ConvFixture.load()
        #expect(fixture.cases.count >= 3)
        for f in fixture.cases {
            var s = f.shape.c
            let x = f.x.map(Float.init), w = f.w.map(Float.init), b = f.b.map(Float.init), dy = f.dy.map(Float.init)
            #expect(x.map(Double.init) == f.x, "\(f.name): inputs must be exact float32 values")
            for cores in [1, 3] {
                var scratch = [Float](repeating: .nan, count: sp_conv2d_scratch_floats(&s, Int32(cores)))
                var y = [Float](repeating: .nan, count: f.y.count), dx = [Float](repeating: .nan, count: f.dx.count)
                var dw = [Float](repeating: .nan, count: f.dw.count)
                forEachCore(cores) { core, n in
                    sp_conv2d_fwd_f32(&s, x, w, b, &y, &scratch, core, n)
                    sp_conv2d_bwd_input_f32(&s, dy, w, &dx, &scratch, core, n)
                    sp_conv2d_bwd_weight_f32(&s, x, dy, &dw, 0, &scratch, core, n)
                }
                let db = CConv.biasGradient(positions: Int(s.out_h * s.out_w), channels: Int(s.out_c), dy: dy,
                                            cores: cores)
                expectClose(y, f.y, scale: magnitude(f.y), "\(f.name): forward, \(cores) cores")
                expectClose(dx, f.dx, scale: magnitude(f.dx), "\(f.name): input grad, \(cores) cores")
                expectClose(dw, f.dw, scale: magnitude(f.dw), "\(f.name): weight grad, \(cores) cores")
                expectClose(db, f.db, scale: magnitude(f.db), "\(f.name): bias grad, \(cores) cores")
            }
        }
    }
}
