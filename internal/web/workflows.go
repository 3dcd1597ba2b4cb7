package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"nudge/internal/engine"
	"nudge/internal/store"
	"nudge/internal/workflow"
)

type workflowRow struct {
	W         *workflow.Workflow
	Version   store.WorkflowVersion
	Runs      int64
	Succeeded int64
	Failed    int64
}

func (u *UI) workflowList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	latest, err := u.store.LatestWorkflowVersions(ctx)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	counts, err := u.store.RunCountsSince(ctx, u.now().Add(-7*24*time.Hour))
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	var rows []workflowRow
	for _, wf := range u.engine.Workflows() {
		row := workflowRow{W: wf, Version: latest[wf.ID]}
		for status, n := range counts[wf.ID] {
			row.Runs += n
			switch status {
			case store.RunSucceeded:
				row.Succeeded += n
			case store.RunFailed, store.RunDead:
				row.Failed += n
			}
		}
		rows = append(rows, row)
	}
	u.render(w, r, http.StatusOK, "workflows", page{Title: "Workflows", Nav: "workflows", Data: rows})
}

type workflowShowData struct {
	W        *workflow.Workflow
	Current  store.WorkflowVersion
	Versions []store.WorkflowVersion
	Runs     []store.Run
}

func (u *UI) workflowShow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	wf, ok := u.engine.Workflow(r.PathValue("id"))
	if !ok {
		u.errorPage(w, r, http.StatusNotFound, "No such workflow.")
		return
	}
	versions, err := u.store.WorkflowVersions(ctx, wf.ID)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	runs, err := u.store.ListRuns(ctx, store.RunFilter{Workflow: wf.ID, Limit: 10})
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	d := workflowShowData{W: wf, Versions: versions, Runs: runs}
	if len(versions) > 0 {
		d.Current = versions[0]
	}
	p := page{Title: "Workflow " + wf.ID, Nav: "workflows", Data: d}
	if v := numberParam(r, "saved"); v != "" {
		p.Flash = "Saved as version " + v + ". New events use it now."
	}
	u.render(w, r, http.StatusOK, "workflow", p)
}

type workflowEditData struct {
	W        *workflow.Workflow
	YAML     string
	Events   []store.Event
	EventID  string
	Problems []yamlProblem
	Note     string
	Sim      []simLine
	Ran      bool
}

type simLine struct {
	engine.SimStep
	JSON string
}

func (u *UI) workflowEditForm(w http.ResponseWriter, r *http.Request) {
	wf, ok := u.engine.Workflow(r.PathValue("id"))
	if !ok {
		u.errorPage(w, r, http.StatusNotFound, "No such workflow.")
		return
	}
	v, err := u.store.LatestWorkflowVersion(r.Context(), wf.ID, "")
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	u.showEdit(w, r, http.StatusOK, workflowEditData{W: wf, YAML: v.YAML})
}

func (u *UI) showEdit(w http.ResponseWriter, r *http.Request, status int, d workflowEditData) {
	events, err := u.store.ListEvents(r.Context(), store.EventFilter{Trigger: d.W.On, Limit: 50})
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	d.Events = events
	u.render(w, r, status, "workflow_edit", page{Title: "Edit " + d.W.ID, Nav: "workflows", Data: d})
}

// workflowEdit checks the YAML of a workflow and then either dry-runs it against a stored
// event (action=dryrun) or saves it as a new version (action=save). A YAML with problems
// is never saved: the problems are shown with their lines.
func (u *UI) workflowEdit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cur, ok := u.engine.Workflow(r.PathValue("id"))
	if !ok {
		u.errorPage(w, r, http.StatusNotFound, "No such workflow.")
		return
	}
	text := strings.ReplaceAll(r.PostFormValue("yaml"), "\r\n", "\n")
	d := workflowEditData{W: cur, YAML: text, EventID: strings.TrimSpace(r.PostFormValue("event"))}
	compiled, probs := compileYAML(text, cur.ID)
	if len(probs) > 0 {
		d.Problems = probs
		u.showEdit(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	if r.PostFormValue("action") == "save" {
		u.wfMu.Lock()
		defer u.wfMu.Unlock()
		last, err := u.store.LatestWorkflowVersion(ctx, cur.ID, "")
		if err != nil {
			u.serverError(w, r, err)
			return
		}
		if last.YAML == text {
			d.Note = "No change: this is already version " + strconv.Itoa(last.Version) + "."
			u.showEdit(w, r, http.StatusOK, d)
			return
		}
		v, err := u.store.SaveWorkflowVersion(ctx, store.WorkflowVersion{WorkflowID: cur.ID, YAML: text, Source: store.WorkflowFromUI, Enabled: compiled.Enabled})
		if err != nil {
			u.serverError(w, r, err)
			return
		}
		if err := u.applyWorkflows(ctx); err != nil {
			u.serverError(w, r, err)
			return
		}
		u.log.Info("web: workflow saved", "workflow", cur.ID, "version", v.Version)
		redirect(w, r, fmt.Sprintf("/workflows/%s?saved=%d", cur.ID, v.Version))
		return
	}
	// Dry run.
	d.Ran = true
	id, err := strconv.ParseInt(d.EventID, 10, 64)
	if err != nil || id <= 0 {
		d.Problems = []yamlProblem{{Msg: "choose a stored event (its number) to dry-run against"}}
		u.showEdit(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	ev, err := u.store.Event(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			d.Problems = []yamlProblem{{Msg: fmt.Sprintf("there is no event %d", id)}}
			u.showEdit(w, r, http.StatusUnprocessableEntity, d)
			return
		}
		u.serverError(w, r, err)
		return
	}
	if ev.Trigger != compiled.On {
		d.Note = fmt.Sprintf("Event %d is a %s event; this workflow runs on %s, so it would not start.", ev.ID, ev.Trigger, compiled.On)
		u.showEdit(w, r, http.StatusOK, d)
		return
	}
	trial := *compiled
	if !trial.Enabled {
		trial.Enabled = true
		d.Note = "This workflow is disabled; the dry run shows what it would do if it were enabled."
	}
	cfg := *u.cfg
	cfg.Workflows = []*workflow.Workflow{&trial}
	steps, err := engine.Simulate(&cfg, ev.Trigger, ev.Body)
	if err != nil {
		d.Problems = []yamlProblem{{Msg: err.Error()}}
		u.showEdit(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	for _, st := range steps {
		b, _ := json.Marshal(st)
		d.Sim = append(d.Sim, simLine{SimStep: st, JSON: string(b)})
	}
	u.showEdit(w, r, http.StatusOK, d)
}

// workflowSetEnabled enables or disables a workflow: a new version with `enabled:` set,
// the rest of the YAML (comments included) kept as it is.
func (u *UI) workflowSetEnabled(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cur, ok := u.engine.Workflow(r.PathValue("id"))
	if !ok {
		u.errorPage(w, r, http.StatusNotFound, "No such workflow.")
		return
	}
	enable := r.PostFormValue("enabled") == "true"
	u.wfMu.Lock()
	defer u.wfMu.Unlock()
	last, err := u.store.LatestWorkflowVersion(ctx, cur.ID, "")
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	text, err := setEnabled(last.YAML, enable)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	compiled, probs := compileYAML(text, cur.ID)
	if len(probs) > 0 {
		u.errorPage(w, r, http.StatusUnprocessableEntity, "The stored version does not compile: "+probs[0].String())
		return
	}
	if text != last.YAML {
		v, err := u.store.SaveWorkflowVersion(ctx, store.WorkflowVersion{WorkflowID: cur.ID, YAML: text, Source: store.WorkflowFromUI, Enabled: compiled.Enabled})
		if err != nil {
			u.serverError(w, r, err)
			return
		}
		if err := u.applyWorkflows(ctx); err != nil {
			u.serverError(w, r, err)
			return
		}
		u.log.Info("web: workflow enabled changed", "workflow", cur.ID, "enabled", enable, "version", v.Version)
	}
	redirect(w, r, "/workflows/"+cur.ID)
}

// setEnabled sets the top-level `enabled:` of a workflow's YAML, keeping everything else.
func setEnabled(text string, enabled bool) (string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return "", fmt.Errorf("error reading stored workflow: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return "", fmt.Errorf("stored workflow is not a map")
	}
	root := doc.Content[0]
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(enabled)}
	found := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "enabled" {
			root.Content[i+1], found = val, true
		}
	}
	if !found {
		// After on:, where encodeWorkflow would put it.
		at := len(root.Content)
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "on" {
				at = i + 2
			}
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: "enabled"}
		root.Content = append(root.Content[:at], append([]*yaml.Node{key, val}, root.Content[at:]...)...)
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", err
	}
	enc.Close()
	return b.String(), nil
}
