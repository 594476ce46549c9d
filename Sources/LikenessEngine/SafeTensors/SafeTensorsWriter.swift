// Writer for the safetensors format in F32 or F16 (round-to-nearest-even, as torch's
// .half()), with sorted keys, a space-padded header aligned to 8 bytes, and optional
// __metadata__. Writes a temporary file in the destination folder, then renames it over
// the destination, so an existing file is never left half-written.

import Foundation

/// Writes tensors to a safetensors file.
public enum SafeTensorsWriter {
    /// Element type to store.
    public enum StoredType: String {
        case f32 = "F32"
        case f16 = "F16"
    }

    /// Writes `tensors` (name → tensor) to `url` in `dtype`.
    public static func write(
        _ tensors: [String: Tensor], to url: URL, dtype: StoredType = .f32, metadata: [String: String] = [:]
    ) throws {
        let name = SafeTensorsFile.defaultDisplayName(url)
        let keys = tensors.keys.sorted()
        let elementSize = dtype == .f32 ? 4 : 2
        var header: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
            header.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for key in keys {
            guard let t = tensors[key] else { continue }
            let bytes = t.count * elementSize
            let shape = t.shape.map(String.init).joined(separator: ",")
            header.append("\(jsonString(key)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var headerBytes = Array("{\(header.joined(separator: ","))}".utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }

        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for key in keys {
            guard let t = tensors[key] else { continue }
            switch dtype {
            case .f32:
                t.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
            case .f16:
                let halves = t.storage.map { floatToHalfBits($0).littleEndian }
                halves.withUnsafeBufferPointer { data.append($0) }
            }
        }
        try writeAtomically(data, to: url, displayName: name)
    }

    /// Writes `data` to a temporary sibling of `url`, then renames it into place.
    static func writeAtomically(_ data: Data, to url: URL, displayName: String) throws {
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try data.write(to: tmp)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw SafeTensorsError.writeFailed(file: displayName, reason: error.localizedDescription)
        }
        if rename(tmp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw SafeTensorsError.writeFailed(file: displayName, reason: reason)
        }
    }

    /// `s` as a JSON string literal (quotes, backslashes and control characters escaped); also
    /// what LikenessKit writes for A1111 parameter values that need quoting.
    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
