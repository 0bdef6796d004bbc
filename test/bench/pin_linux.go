package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cpuSplit gives the DR control plane the upper half of the CPUs this process may use and
// everything else (the source plane, the manager, the load generators) the lower half, as if the two
// clusters were different machines: the DR API server's limit is then what the figures measure,
// not how much CPU dr-syncer takes away from it on a shared box. nil when there is one CPU.
func cpuSplit() (rest, dr []int) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return nil, nil
	}
	var cpus []int
	for i := range len(allowed) * 64 {
		if allowed.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) < 2 {
		return nil, nil
	}
	return cpus[:len(cpus)/2], cpus[len(cpus)/2:]
}

// pinProcess pins every thread of pid to cpus; threads it starts later inherit them.
func pinProcess(pid int, cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("cannot pin thread %d of process %d: %w", tid, pid, err)
		}
	}
	return nil
}

// processesWithArg returns the processes one of whose arguments contains every given fragment.
func processesWithArg(fragments ...string) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(raw), "\x00") {
			if containsAll(arg, fragments) {
				pid, _ := strconv.Atoi(filepath.Base(d))
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

func containsAll(s string, fragments []string) bool {
	for _, f := range fragments {
		if !strings.Contains(s, f) {
			return false
		}
	}
	return true
}
