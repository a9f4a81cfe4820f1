package main

import (
	"fmt"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// palette colours the targets (MinIO is the reference line at 1×).
var palette = map[string]color.Color{
	"storagecli":         color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"caddy":              color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	"upstream":           color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	"minio":              color.RGBA{R: 0xc8, G: 0x37, B: 0x37, A: 0xff},
	"seaweedfs":          color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	"upstream_seaweedfs": color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff},
	"null":               color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff},
}

func colorOf(target string, i int) color.Color {
	if c, ok := palette[target]; ok {
		return c
	}
	return color.Gray{Y: uint8(40 + 30*i%200)}
}

// chartMetric is one group of bars of the speed chart.
type chartMetric struct {
	id, label string
	goal      float64 // the target as a speed-up (0: none)
}

// writeChart draws two panels into a PNG: each target's speed relative to
// MinIO per metric (times inverted, so that higher is better everywhere),
// with the targets marked; and each server's peak RSS during the large PUTs
// against the 64 MiB limit.
func (rp *report) writeChart(path string) error {
	small := formatSize(rp.set.size("SMALL_SIZE", 4<<10))
	large := formatSize(rp.set.size("LARGE_SIZE", 64<<20))
	cms := []chartMetric{
		{"small-put", small + " PUT", 3}, {"small-get", small + " GET", 2}, {"small-head", small + " HEAD", 1.5},
		{"large-put", large + " PUT", 1.5}, {"large-get", large + " GET", 1.5},
	}
	for _, k := range rp.listLabels() {
		if len(rp.t.ratios("list-"+k, "storagecli", "minio")) > 0 {
			g := 0.0
			if k == "100k" {
				g = 1 / 0.3
			}
			cms = append(cms, chartMetric{"list-" + k, "list " + k, g})
		}
	}
	// The null server is off the scale for small requests: it goes in the
	// table only.
	var targets []string
	for _, tg := range rp.t.targets {
		if tg != "minio" && tg != "null" {
			targets = append(targets, tg)
		}
	}

	speed := plot.New()
	speed.Title.Text = fmt.Sprintf("Speed relative to MinIO (median of %d rounds; list: MinIO's time / ours)", rp.t.roundsOf("minio"))
	speed.Y.Label.Text = "× MinIO (higher is better)"
	speed.Legend.Top = true
	speed.Legend.Left = true
	w := vg.Points(14)
	labels := make([]string, len(cms))
	top := 1.0
	for i, tg := range targets {
		vals := make(plotter.Values, len(cms))
		for j, cm := range cms {
			labels[j] = cm.label
			m, _ := rp.metric(cm.id)
			r := median(rp.t.ratios(cm.id, tg, "minio"))
			if m.lower && r > 0 {
				r = 1 / r
			}
			if math.IsNaN(r) {
				r = 0
			}
			vals[j] = r
			top = max(top, r)
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color = colorOf(tg, i)
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(float64(i)-float64(len(targets)-1)/2)
		speed.Add(bars)
		speed.Legend.Add(tg, bars)
	}
	speed.NominalX(labels...)
	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Color = palette["minio"]
	one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	speed.Add(one)
	speed.Legend.Add("MinIO = 1×", one)
	var goals plotter.XYs
	for j, cm := range cms {
		if cm.goal > 0 {
			goals = append(goals, plotter.XY{X: float64(j), Y: cm.goal})
			top = max(top, cm.goal)
		}
	}
	if len(goals) > 0 {
		sc, err := plotter.NewScatter(goals)
		if err != nil {
			return err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(5), Shape: draw.BoxGlyph{}}
		sc.GlyphStyle.Shape = targetGlyph{}
		speed.Add(sc)
		speed.Legend.Add("target", sc)
	}
	speed.Y.Min, speed.Y.Max = 0, top*1.4 // room for the legend
	speed.Add(plotter.NewGrid())

	// Peak RSS during the large PUTs, every target with a server process:
	// the anonymous part (heap, stacks) with the rest (mapped files) on top.
	mem := plot.New()
	mem.Title.Text = "Server peak RSS while 4 clients PUT " + large + " objects (largest over the rounds)"
	mem.Y.Label.Text = "MiB (lower is better)"
	var memTargets []string
	var anonVals, restVals plotter.Values
	for _, tg := range rp.t.targets {
		v := rp.t.max("large-put-rss", tg)
		if math.IsNaN(v) {
			continue
		}
		a := rp.t.max("large-put-anon", tg)
		if math.IsNaN(a) || a > v {
			a = v
		}
		memTargets = append(memTargets, tg)
		anonVals = append(anonVals, a)
		restVals = append(restVals, v-a)
	}
	if len(memTargets) > 0 {
		anonBars, err := plotter.NewBarChart(anonVals, vg.Points(40))
		if err != nil {
			return err
		}
		anonBars.Color = palette["storagecli"]
		anonBars.LineStyle.Width = 0
		restBars, err := plotter.NewBarChart(restVals, vg.Points(40))
		if err != nil {
			return err
		}
		restBars.Color = color.RGBA{R: 0xae, G: 0xc7, B: 0xe8, A: 0xff}
		restBars.LineStyle.Width = 0
		restBars.StackOn(anonBars)
		mem.Add(anonBars, restBars)
		mem.Legend.Add("anonymous (heap, stacks)", anonBars)
		mem.Legend.Add("file-backed (mapped files: reclaimable)", restBars)
		mem.NominalX(memTargets...)
		limit := plotter.NewFunction(func(float64) float64 { return rssLimitMiB })
		limit.Color = color.Black
		limit.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		mem.Add(limit)
		mem.Legend.Add(fmt.Sprintf("target: %d MiB", rssLimitMiB), limit)
		mem.Legend.Top = true
		top := 0.0
		for i := range anonVals {
			top = max(top, anonVals[i]+restVals[i])
		}
		mem.Y.Min, mem.Y.Max = 0, max(top, rssLimitMiB)*1.3
		mem.Add(plotter.NewGrid())
	}

	img := vgimg.New(10*vg.Inch, 9*vg.Inch)
	dc := draw.New(img)
	// White background (PNG would be transparent).
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{{speed}, {mem}}, tiles, dc)
	speed.Draw(canvases[0][0])
	mem.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// targetGlyph is a short horizontal bar: where a target is.
type targetGlyph struct{}

func (targetGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(2.5)})
	var p vg.Path
	p.Move(vg.Point{X: pt.X - 3*sty.Radius, Y: pt.Y})
	p.Line(vg.Point{X: pt.X + 3*sty.Radius, Y: pt.Y})
	c.Stroke(p)
}
