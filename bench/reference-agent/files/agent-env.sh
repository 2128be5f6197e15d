# Environment for Azure DevOps pipeline jobs on this agent.
export AGENT_TOOLSDIRECTORY=/opt/agent-tools
export AZDO_AGENT_WORK=/opt/azdo/work
export PATH="$PATH:/opt/agent-tools/bin"
