package miniotest

import (
	"net/http"
	"testing"
)

func TestSingleNode(t *testing.T) {
	s := Start(t, Options{})
	resp, err := http.Get("http://" + s.Endpoint + "/minio/health/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("live: %s", resp.Status)
	}
	s.Stop()
	if _, err := http.Get("http://" + s.Endpoint + "/minio/health/live"); err == nil {
		t.Fatal("server still answers after Stop")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	s := Start(t, Options{Nodes: 4})
	if len(s.Endpoints) != 4 {
		t.Fatalf("endpoints %v", s.Endpoints)
	}
	s.StopNode(3)
	if err := s.StartNode(3); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitReady(90 * 1e9); err != nil {
		t.Fatal(err)
	}
}
