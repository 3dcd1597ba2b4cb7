package web

import (
	"net/http"

	"nudge/internal/store"
)

type taskListData struct {
	Status string
	Tasks  []store.Task
}

func (u *UI) taskList(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	switch status {
	case store.TaskOpen, store.TaskClosed, "all":
	default:
		status = store.TaskOpen
	}
	f := store.TaskFilter{Status: status, Limit: 200}
	if status == "all" {
		f.Status = ""
	}
	tasks, err := u.store.ListTasks(r.Context(), f)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	p := page{Title: "Tasks", Nav: "tasks", Data: taskListData{Status: status, Tasks: tasks}}
	if n := numberParam(r, "closed"); n != "" {
		p.Flash = "Task " + n + " closed."
	}
	u.render(w, r, http.StatusOK, "tasks", p)
}

func (u *UI) taskClose(w http.ResponseWriter, r *http.Request) {
	n, ok := idValue(r, "number")
	if !ok {
		u.errorPage(w, r, http.StatusNotFound, "No such task.")
		return
	}
	if _, err := u.store.Task(r.Context(), n); err != nil {
		u.serverError(w, r, err)
		return
	}
	if _, err := u.store.CloseTask(r.Context(), n); err != nil {
		u.serverError(w, r, err)
		return
	}
	u.log.Info("web: task closed by hand", "task", n)
	redirect(w, r, "/tasks?closed="+r.PathValue("number"))
}
