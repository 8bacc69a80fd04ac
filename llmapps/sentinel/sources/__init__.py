"""Sources: GitHub (REST v3), Hacker News (Firebase API) and local git repositories."""
