package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lambda/storagecli/config"
	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/embedded"
	"github.com/lambda/storagecli/internal/orderstore"
)

func newOrderCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "order",
		Short: "The orders the gateway can serve",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newOrderListCmd(g), newOrderUsageCmd(g))
	return cmd
}

// orderRow is one line of `order list`.
type orderRow struct {
	OrderID string `json:"order_id"`
	// Expire is the order's expiry (RFC 3339), "" if it never expires.
	Expire string `json:"expire"`
	// Grace is how long after Expire reads still work.
	Grace string `json:"grace,omitempty"`
	// UsedBytes and Objects are null when unknown.
	UsedBytes *int64 `json:"used_bytes"`
	Objects   *int64 `json:"objects"`
	// TotalBytes is the capacity; null: unlimited.
	TotalBytes *int64 `json:"total_bytes"`
	// Status is the order's state: active, read-only (expired) or closed.
	Status string `json:"status"`
	// ProviderStatus is the state with where the usage comes from: the
	// local data, or the gateway serving the order.
	ProviderStatus string `json:"provider_status"`
	// PID is the gateway serving the order, if one runs.
	PID     int    `json:"pid,omitempty"`
	Address string `json:"address,omitempty"`
	DataDir string `json:"data_dir"`
}

func newOrderListCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the configured orders, their expiry, usage and status",
		Long: `List the configured orders: broker.extra_order_id and each [order.<id>] table,
with their expiry, Used/Total (total is order.<id>.capacity) and status:
active, read-only (expired) or closed (past expires + grace).

Used is read from the order's local data, or, for an order a gateway serves,
from what that gateway published (at most a few seconds old).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.load()
			if err != nil {
				return err
			}
			var rows []orderRow
			now := time.Now()
			for _, id := range l.cfg.OrderIDs() {
				rows = append(rows, orderInfo(l.home, l.cfg, id, now))
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			printOrders(cmd.OutOrStdout(), rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// orderInfo describes an order: its settings, and its usage unless a
// gateway that published none serves it.
func orderInfo(home string, cfg *config.Config, id string, now time.Time) orderRow {
	o := orderstore.Order(cfg, id)
	dir := cfg.OrderDataDir(home, id)
	loc := orderstore.Locate(cfg, home, id)
	row := orderRow{OrderID: id, DataDir: loc.String(), Status: o.State(now).String()}
	if !o.Expires.IsZero() {
		row.Expire = o.Expires.UTC().Format(time.RFC3339)
		row.Grace = o.Grace.String()
	}
	if o.Capacity > 0 {
		c := o.Capacity
		row.TotalBytes = &c
	}
	row.ProviderStatus = row.Status
	detail := func(d string) { row.ProviderStatus = row.Status + ", " + d }
	running, in, err := probe(home, id)
	switch {
	case err != nil:
		detail("error: " + err.Error())
		return row
	case running && in.PID > 0:
		detail(fmt.Sprintf("served by pid %d", in.PID))
		row.PID, row.Address = in.PID, in.Address
		if u := in.Usage; u != nil {
			row.UsedBytes, row.Objects = &u.Bytes, &u.Objects
		}
		return row
	case running:
		detail("gateway starting")
		return row
	}
	if loc.Kind == orderstore.KindUpstream {
		u, err := upstreamUsage(cfg, home, id)
		if err != nil {
			detail("error: " + err.Error())
			return row
		}
		row.UsedBytes, row.Objects = &u.Bytes, &u.Objects
		detail("upstream")
		return row
	}
	if _, err := os.Stat(filepath.Join(dir, "index.db")); errors.Is(err, os.ErrNotExist) {
		zero := int64(0)
		row.UsedBytes, row.Objects = &zero, &zero
		detail("no data yet")
		return row
	}
	// Hold the order's lock while the store is open, so a gateway starting
	// meanwhile waits instead of failing on the store's own lock.
	lock, err := acquireLock(home, id, 0)
	if err != nil {
		var ar *errAlreadyRunning
		if errors.As(err, &ar) && ar.pid > 0 {
			detail(fmt.Sprintf("served by pid %d", ar.pid))
		} else {
			detail("in use")
		}
		return row
	}
	defer lock.release()
	st, err := embedded.Open(dir, embedded.Options{})
	if errors.Is(err, embedded.ErrInUse) {
		detail("in use by another process (a Caddy serving it?)")
		return row
	}
	if err != nil {
		detail("error: " + err.Error())
		return row
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := st.Usage(ctx)
	if err != nil {
		detail("error: " + err.Error())
		return row
	}
	row.UsedBytes, row.Objects = &u.Bytes, &u.Objects
	return row
}

// usageReport is the output of `order usage`.
type usageReport struct {
	OrderID string `json:"order_id"`
	// Bytes and Objects are the store's counters (what the gateway
	// enforces the capacity with).
	Bytes   int64 `json:"used_bytes"`
	Objects int64 `json:"objects"`
	// Recount is the usage computed from the order's contents (--recount).
	Recount *usageCount `json:"recount,omitempty"`
	// Drift is true when the recount differs from the counters.
	Drift bool `json:"drift"`
}

type usageCount struct {
	Bytes   int64 `json:"used_bytes"`
	Objects int64 `json:"objects"`
}

func newOrderUsageCmd(g *globalFlags) *cobra.Command {
	var asJSON, recount bool
	cmd := &cobra.Command{
		Use:   "usage [ORDER_ID]",
		Short: "Print an order's usage; --recount checks it against the order's contents",
		Long: `Print the usage of an order (default broker.extra_order_id) from its local data.

--recount also adds up what every bucket, object, multipart upload in progress
and part is charged (its data, its name and metadata, and a fixed overhead: see
the README's "What counts against the capacity") and compares the sum with the
stored counters (which the capacity is enforced with): a difference is reported
as drift, with exit status 1. The order must not be served meanwhile (stop its
gateway first).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := g.load()
			if err != nil {
				return err
			}
			id := l.cfg.Broker.ExtraOrderID
			if len(args) == 1 {
				id = args[0]
			}
			if err := config.ValidateOrderID(id); err != nil {
				return err
			}
			rep, err := orderUsage(l.home, l.cfg, id, recount)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "order %s: used %d bytes (%s), %d objects\n", id, rep.Bytes, humanBytes(rep.Bytes), rep.Objects)
				if rc := rep.Recount; rc != nil {
					verdict := "no drift"
					if rep.Drift {
						verdict = fmt.Sprintf("DRIFT: %+d bytes, %+d objects", rep.Bytes-rc.Bytes, rep.Objects-rc.Objects)
					}
					fmt.Fprintf(out, "recount: %d bytes, %d objects: %s\n", rc.Bytes, rc.Objects, verdict)
				}
			}
			if rep.Drift {
				return &exitCodeError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&recount, "recount", false, "recompute the usage from the order's contents and report any drift")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// orderUsage opens an order's store (holding its lock, so no gateway
// serves it meanwhile) and reads its usage, and with recount recomputes it.
// An upstream order's usage is a scan of the upstream (gateways serving it
// keep no state, so no lock is taken).
func orderUsage(home string, cfg *config.Config, id string, recount bool) (*usageReport, error) {
	rep := &usageReport{OrderID: id}
	if orderstore.Locate(cfg, home, id).Kind == orderstore.KindUpstream {
		st, err := openUpstream(cfg, home, id)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		return readUsage(context.Background(), rep, st, recount)
	}
	dir := cfg.OrderDataDir(home, id)
	if _, err := os.Stat(filepath.Join(dir, "index.db")); errors.Is(err, os.ErrNotExist) {
		if recount {
			rep.Recount = &usageCount{}
		}
		return rep, nil
	}
	lock, err := acquireLock(home, id, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: stop the gateway serving order %s first", err, id)
	}
	defer lock.release()
	st, err := embedded.Open(dir, embedded.Options{})
	if errors.Is(err, embedded.ErrInUse) {
		return nil, fmt.Errorf("order %s: its data is in use by another process (a Caddy serving it?): stop it first", id)
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return readUsage(context.Background(), rep, st, recount)
}

// readUsage fills rep with st's usage and, with recount, its recount.
func readUsage(ctx context.Context, rep *usageReport, st store.Store, recount bool) (*usageReport, error) {
	u, err := st.Usage(ctx)
	if err != nil {
		return nil, err
	}
	rep.Bytes, rep.Objects = u.Bytes, u.Objects
	if recount {
		rc, err := order.Recount(ctx, st)
		if err != nil {
			return nil, fmt.Errorf("recount: %w", err)
		}
		rep.Recount = &usageCount{Bytes: rc.Bytes, Objects: rc.Objects}
		rep.Drift = rc != u
	}
	return rep, nil
}

// openUpstream opens an upstream order's store. Credentials missing from
// its table are taken from STORAGECLI_UPSTREAM_ACCESS_KEY and
// STORAGECLI_UPSTREAM_SECRET_KEY (what `gateway run --account env` uses).
func openUpstream(cfg *config.Config, home, id string) (orderstore.Store, error) {
	if u := cfg.Orders[id].Upstream; u != nil && u.AccessKey == "" {
		cfg = cfg.Clone()
		if _, err := cfg.UpstreamFromEnv(id, os.Getenv); err != nil {
			return nil, err
		}
	}
	st, _, err := orderstore.Open(cfg, home, id, orderstore.Options{})
	return st, err
}

// upstreamUsage reads an upstream order's usage (a scan of its objects).
func upstreamUsage(cfg *config.Config, home, id string) (store.Usage, error) {
	st, err := openUpstream(cfg, home, id)
	if err != nil {
		return store.Usage{}, err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return st.Usage(ctx)
}

// usedTotal formats "used / total" as `order list` and --status print it.
func usedTotal(used, total *int64) string {
	u, t := "-", "unlimited"
	if used != nil {
		u = humanBytes(*used)
	}
	if total != nil {
		t = humanBytes(*total)
	}
	return u + " / " + t
}

func printOrders(w io.Writer, rows []orderRow) {
	table := [][]string{{"OrderId", "Expire", "Used/Total", "ProviderStatus"}}
	for _, r := range rows {
		expire := r.Expire
		if expire == "" {
			expire = "-"
		}
		table = append(table, []string{r.OrderID, expire, usedTotal(r.UsedBytes, r.TotalBytes), r.ProviderStatus})
	}
	widths := make([]int, len(table[0]))
	for _, row := range table {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, row := range table {
		cells := make([]string, len(row))
		for i, c := range row {
			if i == len(row)-1 {
				cells[i] = c
			} else {
				cells[i] = fmt.Sprintf("%-*s", widths[i], c)
			}
		}
		fmt.Fprintln(w, strings.Join(cells, " | "))
	}
}

// humanBytes formats n in binary units: 0 B, 1023 B, 1.5 KiB, 2.0 GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
