#!/bin/sh
# Run first in the VM (tools/vm/run.sh tests/fuzz/vm_trace_iowq.sh BINARY...)
# to record io-wq activity in the kernel's trace buffer: requests queued to
# io-wq, io threads created, named and exiting. A case that hangs prints the
# buffer's tail (tests/fuzz/watchdog.hpp), which shows whether the stranded
# request was queued before or after the task's io-wq workers went away.
t=/sys/kernel/tracing
mount -t tracefs tracefs $t 2>/dev/null || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
[ -d $t/events ] || t=/sys/kernel/debug/tracing
[ -d $t/events ] || { echo "vm_trace_iowq: no tracefs"; exit 0; }
echo 8192 > $t/buffer_size_kb
for e in io_uring/io_uring_queue_async_work task/task_newtask task/task_rename sched/sched_process_exit; do
  echo 1 > $t/events/$e/enable || echo "vm_trace_iowq: cannot enable $e"
done
echo 1 > $t/tracing_on
echo "vm_trace_iowq: tracing io-wq activity in $t"
