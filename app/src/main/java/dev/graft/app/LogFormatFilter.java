package dev.graft.app;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Lets an appender of logback.xml write only when its {@code format} is the selected one ({@code GRAFT_LOG_FORMAT}),
 * so both appenders can stay attached (an unattached appender makes logback print its status at start).
 */
public final class LogFormatFilter extends Filter<ILoggingEvent> {
    private String format = "text";
    private String selected = "text";

    public void setFormat(String format) {
        this.format = format.trim();
    }

    public void setSelected(String selected) {
        this.selected = selected.trim().isEmpty() ? "text" : selected.trim();
    }

    @Override
    public FilterReply decide(ILoggingEvent event) {
        return format.equalsIgnoreCase(selected) ? FilterReply.NEUTRAL : FilterReply.DENY;
    }
}
