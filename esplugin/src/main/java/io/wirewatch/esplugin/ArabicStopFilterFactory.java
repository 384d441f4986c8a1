package io.wirewatch.esplugin;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Removes Lucene's Arabic stop words (ArabicAnalyzer's default set). */
@NamedComponent("ww_arabic_stop")
public class ArabicStopFilterFactory implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new StopFilter(tokenStream, ArabicAnalyzer.getDefaultStopSet());
    }
}
