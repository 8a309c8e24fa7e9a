-- The stuck-task sweeper looks for in-flight tasks published long ago, oldest first
-- (requeueStuckTasks in src/jobs/task-queue.ts).
CREATE INDEX tasks_in_flight ON tasks (published_at) WHERE status = 'queued' AND published_at IS NOT NULL;
