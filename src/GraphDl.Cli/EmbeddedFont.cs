using ScottPlot;
using SkiaSharp;

namespace GraphDl.Cli;

/// <summary>
/// DejaVu Sans, embedded in the assembly and handed to ScottPlot through a font resolver, so charts render the
/// same on machines without fontconfig or any installed font.
/// </summary>
public static class EmbeddedFont
{
    /// <summary>The family name charts ask for.</summary>
    public const string Family = "DejaVu Sans";

    const string Resource = "GraphDl.Cli.Fonts.DejaVuSans.ttf";
    static readonly Lazy<SKData> s_data = new(Load);
    static readonly object s_lock = new();
    static bool s_registered;

    /// <summary>Puts the embedded font first in ScottPlot's resolvers (once per process).</summary>
    public static void Register()
    {
        lock (s_lock)
        {
            if (s_registered) return;
            Fonts.FontResolvers.Insert(0, new Resolver());
            s_registered = true;
        }
    }

    /// <summary>A new typeface of the embedded font (ScottPlot may dispose what a resolver returns).</summary>
    public static SKTypeface CreateTypeface() =>
        SKTypeface.FromData(s_data.Value) ?? throw new InvalidOperationException("the embedded font could not be loaded");

    static SKData Load()
    {
        using var stream = typeof(EmbeddedFont).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"resource {Resource} is missing");
        return SKData.Create(stream);
    }

    sealed class Resolver : IFontResolver
    {
        // Every request gets the embedded face: chart text never depends on what the machine has installed.
        public SKTypeface CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) => EmbeddedFont.CreateTypeface();

        public SKTypeface CreateTypeface(string fontName, bool bold, bool italic) => EmbeddedFont.CreateTypeface();
    }
}
