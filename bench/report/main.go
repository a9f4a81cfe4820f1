// Command report turns the results of bench/run.sh into BENCHMARKS.md and
// its chart: the machine, the command, medians over the rounds per target
// and metric, ratios to MinIO from the same rounds, and the targets
// table with met / not met.
//
// It is a module of its own so that the plotting library (gonum.org/v1/plot)
// never enters the main module's dependencies. From this directory:
//
//	go run .    # ../results/{results.jsonl,settings.env} -> ../../BENCHMARKS.md, ../BENCHMARKS.png
//	go run . --results /tmp/x/results.jsonl --settings /tmp/x/settings.env --md /tmp/x/B.md --png /tmp/x/B.png
//
// A notes file (default ../notes.md), if it exists, is copied into the
// report as its "Analysis" section: the place for profiles and
// explanations that numbers alone do not give.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("report", flag.ContinueOnError)
	results := fl.String("results", "../results/results.jsonl", "s3bench JSON lines of bench/run.sh")
	settingsFile := fl.String("settings", "../results/settings.env", "bench/run.sh's settings.env")
	mdPath := fl.String("md", "../../BENCHMARKS.md", "Markdown report to write")
	pngPath := fl.String("png", "../BENCHMARKS.png", "chart to write (PNG)")
	notesPath := fl.String("notes", "../notes.md", "Markdown copied into the report as its Analysis section, if the file exists")
	root := fl.String("root", "../..", "the repository root, for links from the report")
	if err := fl.Parse(args); err != nil {
		return err
	}
	res, err := readResults(*results)
	if err != nil {
		return err
	}
	if len(res) == 0 {
		return fmt.Errorf("%s: no results", *results)
	}
	set, err := readSettings(*settingsFile)
	if err != nil {
		return err
	}
	var notes []byte
	if *notesPath != "" {
		notes, err = os.ReadFile(*notesPath)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	mdDir, err := filepath.Abs(filepath.Dir(*mdPath))
	if err != nil {
		return err
	}
	pngRel, err := relTo(mdDir, *pngPath)
	if err != nil {
		return err
	}
	rootRel, err := relTo(mdDir, *root)
	if err != nil {
		return err
	}
	ms := metrics(set, res)
	rp := &report{res: res, set: set, ms: ms, t: collect(res, ms), pngPath: filepath.ToSlash(pngRel),
		notes: string(notes), rootPath: filepath.ToSlash(rootRel)}
	if err := rp.writeChart(*pngPath); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	var b bytes.Buffer
	if err := rp.writeMarkdown(&b); err != nil {
		return err
	}
	if err := os.WriteFile(*mdPath, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "report: wrote %s and %s\n", *mdPath, *pngPath)
	return nil
}

// runDuration is the time between two RFC 3339 stamps, rounded to minutes.
func runDuration(start, end string) (string, error) {
	a, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return "", err
	}
	b, err := time.Parse(time.RFC3339, end)
	if err != nil {
		return "", err
	}
	d := b.Sub(a).Round(time.Minute)
	if d < time.Minute {
		return "a minute", nil
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes())), nil
}

// relTo is path relative to the directory dir (absolute).
func relTo(dir, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.Rel(dir, abs)
}
