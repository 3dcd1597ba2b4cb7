package store

import (
	"context"
	"fmt"
	"time"
)

// HourCount is the activity of one hour: events received and messages the provider accepted.
type HourCount struct {
	Hour   time.Time // start of the hour, UTC
	Events int64
	Sends  int64
}

const hourMS = int64(time.Hour / time.Millisecond)

// HourlyActivity returns one entry per hour from since's hour to until's, oldest first,
// with hours without activity included as zeros.
func (s *Store) HourlyActivity(ctx context.Context, since, until time.Time) ([]HourCount, error) {
	first, last := since.UnixMilli()/hourMS, until.UnixMilli()/hourMS
	if last < first {
		return nil, nil
	}
	out := make([]HourCount, last-first+1)
	for i := range out {
		out[i].Hour = msTime((first + int64(i)) * hourMS)
	}
	count := func(query string, set func(h *HourCount, n int64)) error {
		rows, err := s.rdb.QueryContext(ctx, s.q(query), first*hourMS, (last+1)*hourMS)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var hour, n int64
			if err := rows.Scan(&hour, &n); err != nil {
				return err
			}
			if i := hour - first; i >= 0 && i < int64(len(out)) {
				set(&out[i], n)
			}
		}
		return rows.Err()
	}
	err := count(`SELECT received_at / 3600000, COUNT(*) FROM events
		WHERE received_at >= ? AND received_at < ? GROUP BY received_at / 3600000`,
		func(h *HourCount, n int64) { h.Events = n })
	if err != nil {
		return nil, fmt.Errorf("error counting events per hour: %w", err)
	}
	err = count(`SELECT created_at / 3600000, COUNT(*) FROM messages
		WHERE provider_id <> '' AND created_at >= ? AND created_at < ? GROUP BY created_at / 3600000`,
		func(h *HourCount, n int64) { h.Sends = n })
	if err != nil {
		return nil, fmt.Errorf("error counting sends per hour: %w", err)
	}
	return out, nil
}

// RunCountsSince returns, per workflow, the number of runs created since t by status.
func (s *Store) RunCountsSince(ctx context.Context, t time.Time) (map[string]map[string]int64, error) {
	rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT workflow, status, COUNT(*) FROM runs WHERE created_at >= ? GROUP BY workflow, status`), t.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("error counting runs: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var wf, status string
		var n int64
		if err := rows.Scan(&wf, &status, &n); err != nil {
			return nil, err
		}
		if out[wf] == nil {
			out[wf] = map[string]int64{}
		}
		out[wf][status] = n
	}
	return out, rows.Err()
}

// MessageCountsSince returns the number of messages created since t by status.
func (s *Store) MessageCountsSince(ctx context.Context, t time.Time) (map[string]int64, error) {
	rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT status, COUNT(*) FROM messages WHERE created_at >= ? GROUP BY status`), t.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("error counting messages: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		out[status] = n
	}
	return out, rows.Err()
}
