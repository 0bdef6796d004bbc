//go:build !linux

package main

// cpuSplit pins nothing where sched_setaffinity does not exist.
func cpuSplit() (rest, dr []int) { return nil, nil }

func pinProcess(int, []int) error { return nil }

func processesWithArg(...string) []int { return nil }
