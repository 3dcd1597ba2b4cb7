package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"nudge/internal/store"
)

// timeLayout is what an <input type="datetime-local"> sends; the UI's times are UTC.
const timeLayout = "2006-01-02T15:04"

// runFilter is the run history's filter as the query string carries it.
type runFilter struct {
	Status, Workflow, From, To string
}

func runFilterOf(v url.Values) runFilter {
	return runFilter{
		Status:   strings.TrimSpace(v.Get("status")),
		Workflow: strings.TrimSpace(v.Get("workflow")),
		From:     strings.TrimSpace(v.Get("from")),
		To:       strings.TrimSpace(v.Get("to")),
	}
}

func (f runFilter) search(limit int) (store.RunFilter, error) {
	s := store.RunFilter{Status: f.Status, Workflow: f.Workflow, Limit: limit}
	var err error
	if f.From != "" {
		if s.From, err = time.Parse(timeLayout, f.From); err != nil {
			return s, fmt.Errorf("from: want a date and time like 2026-12-01T06:00")
		}
	}
	if f.To != "" {
		if s.To, err = time.Parse(timeLayout, f.To); err != nil {
			return s, fmt.Errorf("to: want a date and time like 2026-12-01T18:00")
		}
	}
	return s, nil
}

// Query is the filter as a query string.
func (f runFilter) Query() string {
	v := url.Values{}
	for k, x := range map[string]string{"status": f.Status, "workflow": f.Workflow, "from": f.From, "to": f.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v.Encode()
}

var runStatuses = []string{store.RunQueued, store.RunRunning, store.RunRetrying, store.RunWaiting,
	store.RunSucceeded, store.RunSkipped, store.RunFailed, store.RunDead}

type runListData struct {
	Filter    runFilter
	Statuses  []string
	Workflows []string
	Runs      []store.Run
	Error     string
}

func (u *UI) runList(w http.ResponseWriter, r *http.Request) {
	f := runFilterOf(r.URL.Query())
	d := runListData{Filter: f, Statuses: runStatuses}
	for _, wf := range u.engine.Workflows() {
		d.Workflows = append(d.Workflows, wf.ID)
	}
	status := http.StatusOK
	if s, err := f.search(200); err != nil {
		d.Error, status = err.Error(), http.StatusBadRequest
	} else if d.Runs, err = u.store.ListRuns(r.Context(), s); err != nil {
		u.serverError(w, r, err)
		return
	}
	p := page{Title: "Runs", Nav: "runs", Data: d}
	if n := numberParam(r, "replayed"); n != "" {
		p.Flash = "Replaying " + n + " run(s): the new runs are at the top."
	}
	u.render(w, r, status, "runs", p)
}

type stepView struct {
	Index    int
	Input    string // the step's definition
	Finished bool
	Step     store.Step
	Output   string
}

type runShowData struct {
	Run      store.Run
	Event    store.Event
	Body     string
	Steps    []stepView
	Messages []store.Message
}

func (u *UI) runShow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := idValue(r, "id")
	if !ok {
		u.errorPage(w, r, http.StatusNotFound, "No such run.")
		return
	}
	run, err := u.store.Run(ctx, id)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	ev, err := u.store.Event(ctx, run.EventID)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	steps, err := u.store.Steps(ctx, run.ID)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	msgs, err := u.store.ListMessages(ctx, store.MessageFilter{RunID: run.ID})
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	d := runShowData{Run: run, Event: ev, Body: prettyJSON(ev.Body), Messages: msgs}
	finished := map[int]store.Step{}
	for _, st := range steps {
		finished[st.Index] = st
	}
	var defs []any
	if wf, ok := u.engine.Workflow(run.Workflow); ok {
		defs, _ = wf.Source["do"].([]any)
	}
	n := len(defs)
	for _, st := range steps {
		n = max(n, st.Index+1)
	}
	for i := 0; i < n; i++ {
		sv := stepView{Index: i + 1}
		if i < len(defs) {
			sv.Input = encodeYAML(defs[i])
		}
		if st, ok := finished[i]; ok {
			sv.Finished, sv.Step, sv.Output = true, st, prettyJSON(st.Output)
		}
		d.Steps = append(d.Steps, sv)
	}
	p := page{Title: fmt.Sprintf("Run %d", run.ID), Nav: "runs", Data: d}
	if n := numberParam(r, "replay_of"); n != "" {
		p.Flash = "This is the replay of run " + n + "."
	}
	u.render(w, r, http.StatusOK, "run", p)
}

func (u *UI) runReplay(w http.ResponseWriter, r *http.Request) {
	id, ok := idValue(r, "id")
	if !ok {
		u.errorPage(w, r, http.StatusNotFound, "No such run.")
		return
	}
	run, err := u.engine.Replay(r.Context(), id)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	u.log.Info("web: run replayed", "run_id", id, "new_run_id", run.ID)
	redirect(w, r, fmt.Sprintf("/runs/%d?replay_of=%d", run.ID, id))
}

type bulkData struct {
	Filter  runFilter
	Count   int
	Skipped int
	Note    string
}

// replayable returns the finished runs of a filter (a run still in progress is not replayed:
// it will finish by itself), and how many unfinished ones it left out.
func (u *UI) replayable(r *http.Request, f runFilter) ([]store.Run, int, error) {
	s, err := f.search(1000)
	if err != nil {
		return nil, 0, err
	}
	runs, err := u.store.ListRuns(r.Context(), s)
	if err != nil {
		return nil, 0, err
	}
	var out []store.Run
	for _, run := range runs {
		if store.RunFinished(run.Status) {
			out = append(out, run)
		}
	}
	return out, len(runs) - len(out), nil
}

func (u *UI) bulkReplayConfirm(w http.ResponseWriter, r *http.Request) {
	f := runFilterOf(r.URL.Query())
	runs, skipped, err := u.replayable(r, f)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "replay_confirm", page{Title: "Replay runs", Nav: "runs",
		Data: bulkData{Filter: f, Count: len(runs), Skipped: skipped}})
}

// bulkReplay replays the filtered set the operator confirmed; when the set no longer has
// the confirmed size, it asks again instead of replaying something else.
func (u *UI) bulkReplay(w http.ResponseWriter, r *http.Request) {
	f := runFilterOf(r.PostForm)
	runs, skipped, err := u.replayable(r, f)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	confirmed, _ := strconv.Atoi(r.PostFormValue("count"))
	if confirmed != len(runs) || len(runs) == 0 {
		u.render(w, r, http.StatusConflict, "replay_confirm", page{Title: "Replay runs", Nav: "runs",
			Data: bulkData{Filter: f, Count: len(runs), Skipped: skipped,
				Note: fmt.Sprintf("The set changed: you confirmed %d run(s), it now holds %d. Nothing was replayed.", confirmed, len(runs))}})
		return
	}
	for _, run := range runs {
		if _, err := u.engine.Replay(r.Context(), run.ID); err != nil {
			u.serverError(w, r, err)
			return
		}
	}
	u.log.Info("web: runs replayed", "count", len(runs))
	redirect(w, r, fmt.Sprintf("/runs?replayed=%d", len(runs)))
}

func prettyJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

func encodeYAML(v any) string {
	n, err := toNode(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var b strings.Builder
	enc := yamlEncoder(&b)
	if err := enc.Encode(n); err != nil {
		return fmt.Sprint(v)
	}
	enc.Close()
	return b.String()
}
