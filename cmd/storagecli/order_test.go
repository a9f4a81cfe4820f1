package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/config"
)

func TestOrderListRows(t *testing.T) {
	home := t.TempDir()
	cfg, err := config.Parse([]byte(`
[broker]
extra_order_id = "live"
db_path = "` + home + `/data"
[order.live]
capacity = "200GiB"
expires = 2030-01-01T00:00:00Z
[order.expired]
capacity = 1000
expires = 2020-01-01T00:00:00Z
grace = "87600h"
[order.closed]
expires = 2020-01-01T00:00:00Z
`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		id, status, expire, usedTotal string
	}{
		{"live", "active", "2030-01-01T00:00:00Z", "0 B / 200.0 GiB"},
		{"closed", "closed", "2020-01-01T00:00:00Z", "0 B / unlimited"},
		{"expired", "read-only (expired)", "2020-01-01T00:00:00Z", "0 B / 1000 B"},
	}
	var rows []orderRow
	for i, id := range cfg.OrderIDs() {
		row := orderInfo(home, cfg, id, now)
		rows = append(rows, row)
		tt := tests[i]
		if row.OrderID != tt.id || row.Status != tt.status || row.Expire != tt.expire ||
			usedTotal(row.UsedBytes, row.TotalBytes) != tt.usedTotal || row.ProviderStatus != tt.status+", no data yet" {
			t.Errorf("row %d = %+v, want %+v", i, row, tt)
		}
	}
	var b bytes.Buffer
	printOrders(&b, rows)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "OrderId | Expire               | Used/Total      | ProviderStatus") ||
		!strings.Contains(lines[3], "expired | 2020-01-01T00:00:00Z | 0 B / 1000 B    | read-only (expired), no data yet") {
		t.Errorf("table:\n%s", b.String())
	}
}
