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

	"github.com/lambda/storagecli/gateway/store/embedded"
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
	cmd.AddCommand(newOrderListCmd(g))
	return cmd
}

// orderRow is one line of `order list`.
type orderRow struct {
	OrderID string `json:"order_id"`
	// Expire is empty: orders do not expire yet.
	Expire string `json:"expire"`
	// UsedBytes and Objects are null when unknown (the order is in use).
	UsedBytes *int64 `json:"used_bytes"`
	Objects   *int64 `json:"objects"`
	// TotalBytes is null: unlimited.
	TotalBytes     *int64 `json:"total_bytes"`
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
		Short: "List the configured orders and their usage",
		Long: `List the configured orders: broker.extra_order_id and each [order.<id>] table.

Used is read from the order's local data. An order served by a running gateway
shows "in use by pid N" instead (its data cannot be opened twice).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.load()
			if err != nil {
				return err
			}
			var rows []orderRow
			for _, id := range l.cfg.OrderIDs() {
				rows = append(rows, orderInfo(l.home, id, l.cfg.OrderDataDir(l.home, id)))
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

// orderInfo reads an order's usage, unless a gateway serves it.
func orderInfo(home, id, dir string) orderRow {
	row := orderRow{OrderID: id, DataDir: dir}
	running, in, err := probe(home, id)
	switch {
	case err != nil:
		row.ProviderStatus = "error: " + err.Error()
		return row
	case running && in.PID > 0:
		row.ProviderStatus = fmt.Sprintf("in use by pid %d", in.PID)
		row.PID, row.Address = in.PID, in.Address
		return row
	case running:
		row.ProviderStatus = "in use"
		return row
	}
	if _, err := os.Stat(filepath.Join(dir, "index.db")); errors.Is(err, os.ErrNotExist) {
		zero := int64(0)
		row.UsedBytes, row.Objects = &zero, &zero
		row.ProviderStatus = "no data yet"
		return row
	}
	// Hold the order's lock while the store is open, so a gateway starting
	// meanwhile waits instead of failing on the store's own lock.
	lock, err := acquireLock(home, id, 0)
	if err != nil {
		var ar *errAlreadyRunning
		if errors.As(err, &ar) && ar.pid > 0 {
			row.ProviderStatus = fmt.Sprintf("in use by pid %d", ar.pid)
		} else {
			row.ProviderStatus = "in use"
		}
		return row
	}
	defer lock.release()
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		row.ProviderStatus = "error: " + err.Error()
		return row
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := st.Usage(ctx)
	if err != nil {
		row.ProviderStatus = "error: " + err.Error()
		return row
	}
	row.UsedBytes, row.Objects = &u.Bytes, &u.Objects
	row.ProviderStatus = "ok"
	return row
}

func printOrders(w io.Writer, rows []orderRow) {
	table := [][]string{{"OrderId", "Expire", "Used/Total", "ProviderStatus"}}
	for _, r := range rows {
		used := "-"
		if r.UsedBytes != nil {
			used = humanBytes(*r.UsedBytes)
		}
		expire := r.Expire
		if expire == "" {
			expire = "-"
		}
		table = append(table, []string{r.OrderID, expire, used + " / unlimited", r.ProviderStatus})
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
