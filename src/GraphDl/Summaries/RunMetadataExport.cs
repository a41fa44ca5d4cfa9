using System.Globalization;
using System.Text;
using GraphDl.Summaries.Proto;

namespace GraphDl.Summaries;

/// <summary>Turns a traced run (<see cref="StepTrace"/>) into TensorBoard's <c>RunMetadata</c> ("Session runs" view)
/// or into Chrome trace JSON (chrome://tracing, Perfetto).</summary>
public static class RunMetadataExport
{
    /// <summary>The trace as a <c>RunMetadata</c> with step stats per device.</summary>
    public static RunMetadata ToRunMetadata(StepTrace trace)
    {
        var stats = new StepStats();
        foreach (var group in trace.Nodes.GroupBy(n => n.Device))
        {
            var dev = new DeviceStepStats { Device = "/job:localhost/replica:0/task:0/device:" + DeviceName(group.Key) };
            foreach (var n in group)
            {
                long micros = Math.Max(1, (n.DurationNanos + 999) / 1000);
                var s = new NodeExecStats
                {
                    NodeName = n.Node,
                    TimelineLabel = n.OpType,
                    AllStartMicros = n.StartMicros,
                    OpStartRelMicros = 0,
                    OpEndRelMicros = micros,
                    AllEndRelMicros = micros,
                    AllStartNanos = n.StartMicros * 1000,
                    OpEndRelNanos = n.DurationNanos,
                    AllEndRelNanos = n.DurationNanos,
                    ThreadId = (uint)n.ThreadId,
                };
                if (n.OutputBytes > 0)
                    s.Memory.Add(new AllocatorMemoryUsed { AllocatorName = group.Key == "/cpu:0" ? "cpu" : group.Key, TotalBytes = n.OutputBytes, PeakBytes = n.OutputBytes });
                for (int i = 0; i < n.Outputs.Count; i++)
                {
                    var shape = new TensorShapeProto();
                    foreach (var d in n.Outputs[i].Dims) shape.Dim.Add(new TensorShapeProto.Types.Dim { Size = d });
                    s.Output.Add(new NodeOutput { Slot = i, TensorDescription = new TensorDescription { Dtype = (DataType)(int)n.Outputs[i].DType, Shape = shape } });
                }
                dev.NodeStats.Add(s);
            }
            stats.DevStats.Add(dev);
        }
        return new RunMetadata { StepStats = stats };
    }

    static string DeviceName(string placement) =>
        placement.Trim('/').Replace("cpu:", "CPU:").Replace("gpu:", "GPU:");

    /// <summary>The trace in Chrome's trace-event JSON format (one complete event per kernel, microsecond times).</summary>
    public static string ToChromeTrace(StepTrace trace)
    {
        var sb = new StringBuilder("{\"traceEvents\":[");
        long t0 = trace.Nodes.Count == 0 ? 0 : trace.Nodes.Min(n => n.StartMicros);
        var devices = trace.Nodes.Select(n => n.Device).Distinct().ToList();
        bool first = true;
        for (int d = 0; d < devices.Count; d++)
        {
            if (!first) sb.Append(',');
            first = false;
            sb.Append(CultureInfo.InvariantCulture, $"{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{d},\"args\":{{\"name\":{Json(devices[d])}}}}}");
        }
        // NOTE: wall-clock starts have millisecond resolution; lay kernels end to end from the first start instead,
        // with their measured durations, so the timeline shows the real order and lengths.
        double cursor = 0;
        foreach (var n in trace.Nodes)
        {
            double dur = n.DurationNanos / 1000.0;
            double ts = Math.Max(cursor, n.StartMicros - t0);
            sb.Append(',');
            sb.Append(CultureInfo.InvariantCulture,
                $"{{\"name\":{Json(n.Node)},\"cat\":{Json(n.OpType)},\"ph\":\"X\",\"ts\":{ts:F3},\"dur\":{dur:F3},\"pid\":{devices.IndexOf(n.Device)},\"tid\":{n.ThreadId},");
            sb.Append(CultureInfo.InvariantCulture, $"\"args\":{{\"op\":{Json(n.OpType)},\"bytes\":{n.OutputBytes},\"outputs\":{Json(string.Join(" ", n.Outputs.Select(o => o.DType.Name() + Shape.Format(o.Dims))))}}}}}");
            cursor = ts + dur;
        }
        return sb.Append("],\"displayTimeUnit\":\"ns\"}").ToString();
    }

    static string Json(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
