-- How often the stuck-task sweeper has handed this task back to the dispatcher: a task that keeps
-- getting lost (it crashes every worker and is dead-lettered each time) is failed instead of being
-- republished for ever.
ALTER TABLE tasks ADD COLUMN stuck_requeues smallint NOT NULL DEFAULT 0;
