"""The generated task-list documents (Word, HTML, Markdown) and their pictures."""
