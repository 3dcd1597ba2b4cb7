package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Sources of a workflow version.
const (
	WorkflowFromConfig = "config"
	WorkflowFromUI     = "ui"
)

// WorkflowVersion is one saved definition of a workflow.
type WorkflowVersion struct {
	WorkflowID string
	Version    int
	YAML       string
	Source     string // WorkflowFromConfig or WorkflowFromUI
	Enabled    bool
	CreatedAt  time.Time
}

const wfVersionCols = `workflow_id, version, yaml, source, enabled, created_at`

func scanWorkflowVersion(r scanner) (WorkflowVersion, error) {
	var v WorkflowVersion
	var enabled int
	var created int64
	err := r.Scan(&v.WorkflowID, &v.Version, &v.YAML, &v.Source, &enabled, &created)
	v.Enabled, v.CreatedAt = enabled != 0, msTime(created)
	return v, err
}

// SaveWorkflowVersion stores v as the next version of its workflow and returns it with its
// number and time.
func (s *Store) SaveWorkflowVersion(ctx context.Context, v WorkflowVersion) (WorkflowVersion, error) {
	enabled := 0
	if v.Enabled {
		enabled = 1
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(version), 0) + 1 FROM workflow_versions WHERE workflow_id = ?`),
			v.WorkflowID).Scan(&v.Version); err != nil {
			return err
		}
		now := s.nowMS()
		v.CreatedAt = msTime(now)
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO workflow_versions (`+wfVersionCols+`) VALUES (?, ?, ?, ?, ?, ?)`),
			v.WorkflowID, v.Version, v.YAML, v.Source, enabled, now)
		return err
	})
	if err != nil {
		return WorkflowVersion{}, fmt.Errorf("error saving workflow %s: %w", v.WorkflowID, err)
	}
	return v, nil
}

// LatestWorkflowVersion returns a workflow's newest version, or with source set its newest
// version of that source.
func (s *Store) LatestWorkflowVersion(ctx context.Context, workflowID, source string) (WorkflowVersion, error) {
	query := `SELECT ` + wfVersionCols + ` FROM workflow_versions WHERE workflow_id = ?`
	args := []any{workflowID}
	if source != "" {
		query += ` AND source = ?`
		args = append(args, source)
	}
	v, err := scanWorkflowVersion(s.rdb.QueryRowContext(ctx, s.q(query+` ORDER BY version DESC LIMIT 1`), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return WorkflowVersion{}, ErrNotFound
	}
	if err != nil {
		return WorkflowVersion{}, fmt.Errorf("error reading workflow %s: %w", workflowID, err)
	}
	return v, nil
}

// LatestWorkflowVersions returns the newest version of every stored workflow, by id.
func (s *Store) LatestWorkflowVersions(ctx context.Context) (map[string]WorkflowVersion, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+wfVersionCols+` FROM workflow_versions v
		WHERE version = (SELECT MAX(version) FROM workflow_versions m WHERE m.workflow_id = v.workflow_id)`)
	if err != nil {
		return nil, fmt.Errorf("error reading workflows: %w", err)
	}
	defer rows.Close()
	out := map[string]WorkflowVersion{}
	for rows.Next() {
		v, err := scanWorkflowVersion(rows)
		if err != nil {
			return nil, err
		}
		out[v.WorkflowID] = v
	}
	return out, rows.Err()
}

// WorkflowVersions returns a workflow's versions, newest first.
func (s *Store) WorkflowVersions(ctx context.Context, workflowID string) ([]WorkflowVersion, error) {
	rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+wfVersionCols+` FROM workflow_versions WHERE workflow_id = ? ORDER BY version DESC`), workflowID)
	if err != nil {
		return nil, fmt.Errorf("error reading versions of workflow %s: %w", workflowID, err)
	}
	return scanAll(rows, scanWorkflowVersion)
}
